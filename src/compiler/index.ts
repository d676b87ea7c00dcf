/** Model compiler: templates → SQL per dialect, the DAG and selection. */
export { compileProject, writeCompiled, type CompiledModel, type CompiledProject, type CompileOptions } from './compile';
export { selectModels, buildGraph, type ModelGraph, type DagNode } from './dag';
export { helperNames } from './helpers';
