// install.json tells JupyterLab (Help > Extension Manager, `jupyter labextension list`) how this prebuilt
// extension was installed and how to remove it: here, by copying the folder into share/jupyter/labextensions.
const fs = require('fs');
const path = require('path');
const data = require('../package.json');

const install = {
  packageManager: 'copy',
  packageName: data.name,
  uninstallInstructions: `Delete the ${data.name} folder from share/jupyter/labextensions (where it was copied).`
};
fs.writeFileSync(path.join(__dirname, '..', data.jupyterlab.outputDir, 'install.json'), JSON.stringify(install, null, 2) + '\n');
