/**
 * Where a sync reads from: a segment source resolves through the caller's segment lookup
 * (the segments module's membership table); without one it is a clear config error.
 */
import { CdpError } from '../../src/errors';
import { loadSyncProject, resolveSyncTarget } from '../../src/sync';
import { makeProject } from '../helpers/project-fixture';

const files = {
  'destinations.yml': 'out:\n  type: file\n  config: { folder: exports, format: csv }\n',
  'syncs/churn.yml': 'source: { segment: churn_risk }\ndestination: out\nobject: records\nmode: mirror\nkey: email\nmapping: { email: email }\n',
};

test('a segment source reads the segment membership table', () => {
  const project = makeProject(files);
  try {
    const sync = loadSyncProject(project.dir, {}).syncs.get('churn')!;
    const asked: string[] = [];
    const target = resolveSyncTarget(sync, {
      models: new Map(),
      defaultSchema: 'analytics',
      stateSchema: 'cdp_state',
      segment: (name) => {
        asked.push(name);
        return { schema: 'segments_out', name: `seg_${name}` };
      },
    });
    expect(asked).toEqual(['churn_risk']);
    expect(target.source).toEqual({ schema: 'segments_out', name: 'seg_churn_risk' });
    expect(target.tables.state.schema).toBe('cdp_state');
  } finally {
    project.remove();
  }
});

test('without a segment lookup a segment source is a one-line config error', () => {
  const project = makeProject(files);
  try {
    const sync = loadSyncProject(project.dir, {}).syncs.get('churn')!;
    let error: unknown;
    try {
      resolveSyncTarget(sync, { models: new Map(), defaultSchema: 'analytics', stateSchema: 'cdp_state' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CdpError);
    expect((error as CdpError).kind).toBe('config');
    expect((error as CdpError).toLine()).toMatch(/source segment 'churn_risk' cannot be resolved here/);
  } finally {
    project.remove();
  }
});
