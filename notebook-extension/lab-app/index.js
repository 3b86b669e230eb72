// The entry point only crosses the module federation boundary: the shared @jupyterlab/* packages are loaded
// asynchronously, so nothing may import them before bootstrap.js runs.
import('./bootstrap');
