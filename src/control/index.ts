/** Control database: connection, migrations and repositories. */
export { openControlDb, redactUrl, type ControlDb } from './control-db';
export * from './runs-repository';
