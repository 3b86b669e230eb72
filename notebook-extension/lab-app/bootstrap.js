// Starts the minimal JupyterLab: the bundled plugins, then every prebuilt (federated) labextension that
// jupyterlab-server lists in the page config, loaded the way JupyterLab's own front end loads them.
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';

import './build/style.js';

const bundled = [
  import('@jupyterlab/application-extension'),
  // Not the "notified about official Jupyter news?" prompt: this front end fetches nothing from the internet.
  import('@jupyterlab/apputils-extension').then(module => ({
    default: pluginsOf(module).filter(({ id }) => id !== '@jupyterlab/apputils-extension:announcements')
  })),
  import('@jupyterlab/codemirror-extension'),
  import('@jupyterlab/completer-extension'),
  import('@jupyterlab/console-extension'),
  import('@jupyterlab/docmanager-extension'),
  import('@jupyterlab/documentsearch-extension'),
  import('@jupyterlab/filebrowser-extension'),
  // The language-server plugins need a server extension Debian does not ship.
  import('@jupyterlab/fileeditor-extension').then(withoutLanguageServer),
  import('@jupyterlab/launcher-extension'),
  import('@jupyterlab/mainmenu-extension'),
  import('@jupyterlab/markedparser-extension'),
  import('@jupyterlab/notebook-extension').then(withoutLanguageServer),
  import('@jupyterlab/rendermime-extension'),
  import('@jupyterlab/running-extension'),
  import('@jupyterlab/shortcuts-extension'),
  import('@jupyterlab/statusbar-extension'),
  import('@jupyterlab/theme-light-extension'),
  import('@jupyterlab/translation-extension'),
  import('@jupyterlab/ui-components-extension')
];

function withoutLanguageServer(module) {
  return { default: pluginsOf(module).filter(({ id }) => !id.includes(':language-server')) };
}

function pluginsOf(module) {
  const exports = Object.prototype.hasOwnProperty.call(module, '__esModule') || module.default ? module.default : module;
  return Array.isArray(exports) ? exports : [exports];
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.onerror = () => reject(new Error(`could not load ${url}`));
    script.onload = resolve;
    script.async = true;
    script.src = url;
    document.head.appendChild(script);
  });
}

/** One federated extension's plugins: its remoteEntry joins the shared scope, then its modules load. */
async function loadFederated(data) {
  const base = PageConfig.getOption('fullLabextensionsUrl');
  await loadScript(`${base}/${data.name}/${data.load}`);
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB[data.name];
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
  const modules = [];
  if (data.style) {
    modules.push(container.get(data.style).then(factory => factory()));
  }
  const plugins = data.extension ? (await container.get(data.extension))() : [];
  await Promise.all(modules);
  return pluginsOf(plugins);
}

async function main() {
  const federated = JSON.parse(PageConfig.getOption('federated_extensions') || '[]');
  const extensionPlugins = [];
  for (const data of federated) {
    try {
      extensionPlugins.push(...(await loadFederated(data)));
    } catch (error) {
      console.error(`JupyterLab extension ${data.name} failed to load:`, error);
    }
  }

  const lab = new JupyterLab();
  lab.registerPlugins((await Promise.all(bundled)).flatMap(pluginsOf));
  lab.registerPlugins(extensionPlugins);
  await lab.start();
  await lab.restored;
  console.log(`JupyterLab started with ${extensionPlugins.length} plugin(s) from ${federated.length} labextension(s)`);
}

main().catch(error => console.error('JupyterLab failed to start:', error));
