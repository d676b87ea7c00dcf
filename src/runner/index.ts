/** Builds compiled models in the warehouse: materialisations and the parallel DAG run. */
export { runModels, type ModelResult, type ModelStatus, type RunSummary, type RunModelsOptions } from './run-models';
export { materialize, relationKind, TEMP_SUFFIX, type BuildKind, type BuildOutcome } from './materialize';
