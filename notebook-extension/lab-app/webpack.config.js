// The minimal JupyterLab application: the @jupyterlab/* plugins listed in package.json, bundled by webpack,
// plus whatever prebuilt (federated) labextensions jupyterlab-server finds in share/jupyter/labextensions.
// Modelled on JupyterLab's examples/app, with the module federation host JupyterLab's own build sets up, so a
// labextension built by @jupyterlab/builder loads here exactly as it does in a JupyterLab installation.
const path = require('path');
const webpack = require('webpack');
const miniSVGDataURI = require('mini-svg-data-uri');
const { Build } = require('@jupyterlab/builder');
const data = require('./package.json');

const { ModuleFederationPlugin } = webpack.container;

// The plugin packages: the dependencies that declare JupyterLab metadata. Their schemas, themes and styles
// are copied into build/ (what jupyterlab-server serves as schemas_dir and themes_dir).
const pluginPackages = Object.keys(data.dependencies).filter(
  name => require(`${name}/package.json`).jupyterlab !== undefined
);
const assets = Build.ensureAssets({ packageNames: pluginPackages, output: path.join(__dirname, 'build') });

// The packages every federated extension expects the host to provide exactly once (@jupyterlab/builder marks
// the same list `import: false, singleton: true` when it builds an extension against this package.json).
const shared = {};
for (const name of data.jupyterlab.singletonPackages) {
  shared[name] = { singleton: true, version: require(`${name}/package.json`).version, requiredVersion: false };
}

module.exports = [
  {
    mode: process.env.NODE_ENV === 'development' ? 'development' : 'production',
    entry: ['whatwg-fetch', './index.js'],
    output: {
      path: path.join(__dirname, 'build'),
      // The page template loads bundle.js by name; the chunks it pulls in are content-hashed.
      filename: 'bundle.js',
      chunkFilename: '[name].[contenthash].js',
      // Wherever bundle.js was served from (jupyterlab-server's static URL, behind any base URL or gateway).
      publicPath: 'auto'
    },
    bail: true,
    devtool: false,
    performance: { hints: false },
    // Served from the local machine: minifying 11 MiB costs minutes on 2 cores and saves nothing that matters.
    optimization: { minimize: false },
    resolve: {
      // Some @jupyterlab/* dependencies ship .mjs files that import without extensions.
      fullySpecified: false
    },
    module: {
      rules: [
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.md$/, use: 'raw-loader' },
        { test: /\.(jpg|png|gif)$/, type: 'asset/resource' },
        { test: /\.js\.map$/, type: 'asset/resource' },
        { test: /\.(woff2?|ttf|eot)(\?v=\d+\.\d+\.\d+)?$/, type: 'asset/resource' },
        {
          test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
          issuer: /\.css$/,
          type: 'asset',
          generator: { dataUrl: content => miniSVGDataURI(content.toString()) }
        },
        { test: /\.svg(\?v=\d+\.\d+\.\d+)?$/, issuer: /\.js$/, type: 'asset/source' }
      ]
    },
    plugins: [
      new webpack.DefinePlugin({ 'process.env': '{}', process: { cwd: () => '/' } }),
      new ModuleFederationPlugin({
        library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
        name: 'CORE_FEDERATION',
        shared
      })
    ]
  }
].concat(assets);
