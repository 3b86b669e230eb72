// The plugin: one status bar item for the current notebook's kernel, fed by the Attach hub, and notifications.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { IStatusBar } from '@jupyterlab/statusbar';
import { AttachApi } from './api';
import { gatewayRoot } from './gateway';
import { AttachHubConnection, HubProtocol } from './hub';
import { AttachStatusItem } from './statusItem';
import { KernelStatusTracker } from './tracker';

export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'attach-jupyterlab:status',
  description: 'Shows the GPU state of the current notebook’s kernel (Attach) in the status bar.',
  autoStart: true,
  requires: [INotebookTracker, IStatusBar],
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker, statusBar: IStatusBar) => {
    // The hub and the broker API are the gateway's, at its root (not under a user's /user/{name}/).
    const root = gatewayRoot(PageConfig.getBaseUrl());
    const hub = new AttachHubConnection(URLExt.join(root, HubProtocol.path));
    const tracker = new KernelStatusTracker(hub);
    const item = new AttachStatusItem(tracker, new AttachApi(ServerConnection.makeSettings({ baseUrl: root })));

    const kernelOf = (panel: NotebookPanel | null): string | null => panel?.sessionContext.session?.kernel?.id ?? null;
    const refresh = () => {
      const open: string[] = [];
      notebooks.forEach(panel => {
        const id = kernelOf(panel);
        if (id) {
          open.push(id);
        }
      });
      tracker.setOpenKernels(open);
      tracker.setCurrentKernel(kernelOf(notebooks.currentWidget));
    };
    notebooks.widgetAdded.connect((_, panel) => {
      panel.sessionContext.kernelChanged.connect(refresh);
      panel.sessionContext.sessionChanged.connect(refresh);
      panel.disposed.connect(() => setTimeout(refresh));
      refresh();
    });
    notebooks.currentChanged.connect(refresh);

    tracker.notice.connect((_, notice) => {
      Notification.emit(notice.message, notice.kind, { autoClose: notice.kind === 'error' ? false : 8000 });
    });

    statusBar.registerStatusItem(statusPlugin.id, {
      item,
      align: 'left',
      rank: -1,
      isActive: () => notebooks.currentWidget !== null
    });
    app.restored.then(refresh).catch(() => undefined);
  }
};
