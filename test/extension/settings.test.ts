import { mock } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendArgs, BACKEND_CHOICES, METHOD_CHOICES, readSettings } from '../../src/extension/settings';
import { BACKEND_CHOICES as PROTOCOL_BACKENDS } from '../../src/protocol/backends';
import { METHOD_NAMES } from '../../src/protocol/methods';

test('the settings accept exactly the protocol\'s backends and methods', () => {
  assert.deepEqual([...BACKEND_CHOICES], [...PROTOCOL_BACKENDS]);
  assert.deepEqual([...METHOD_CHOICES], [...METHOD_NAMES]);
  mock.reset();
  for (const b of PROTOCOL_BACKENDS) {
    mock.config = { defaultBackend: b };
    assert.equal(readSettings().defaultBackend, b);
  }
  for (const m of METHOD_NAMES) {
    mock.config = { defaultMethod: m };
    assert.equal(readSettings().defaultMethod, m);
  }
  mock.config = { defaultBackend: 'cuda', defaultMethod: 'clip' };
  assert.deepEqual([readSettings().defaultBackend, readSettings().defaultMethod], ['auto', 'reclf']);
  mock.config = {};
  assert.deepEqual([readSettings().defaultBackend, readSettings().defaultMethod], ['auto', 'reclf']);
});

test('backendArgs: a named backend becomes --backend NAME, auto adds nothing', () => {
  assert.deepEqual(backendArgs('webgpu'), ['--backend', 'webgpu']);
  assert.deepEqual(backendArgs('cpu'), ['--backend', 'cpu']);
  assert.deepEqual(backendArgs('auto'), []);
});
