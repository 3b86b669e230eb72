import { gatewayRoot } from '../src/gateway';

describe('gatewayRoot', () => {
  it('is the base URL when JupyterLab runs at the gateway root (single-user mode)', () => {
    expect(gatewayRoot('http://127.0.0.1:8000/')).toBe('http://127.0.0.1:8000/');
    expect(gatewayRoot('/')).toBe('/');
  });

  it('drops a user server prefix, where the gateway (multi-user mode, JupyterHub) puts each user', () => {
    expect(gatewayRoot('http://127.0.0.1:8000/user/ada/')).toBe('http://127.0.0.1:8000/');
    expect(gatewayRoot('/user/grace.hopper@example.org/')).toBe('/');
    expect(gatewayRoot('http://hub.internal/prefix/user/ada')).toBe('http://hub.internal/prefix/');
  });

  it('keeps other prefixes, and a user segment that is not the last', () => {
    expect(gatewayRoot('http://127.0.0.1:8000/jupyter/')).toBe('http://127.0.0.1:8000/jupyter/');
    expect(gatewayRoot('http://127.0.0.1:8000/user/ada/lab/')).toBe('http://127.0.0.1:8000/user/ada/lab/');
  });
});
