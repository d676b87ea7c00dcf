/**
 * Finds `ref` and `source` calls by reading the template's syntax tree, not by rendering it,
 * so a ref inside `{{#if is_incremental}}` still counts as a dependency (dbt's static
 * parser does the same). Names must be quoted literals: a computed ref could not be known
 * before running, and the DAG must be.
 */
import Handlebars from 'handlebars';
import { configError } from '../errors';
import type { ParsedModel } from './model-file';

type HbsNode = hbs.AST.Node;

export interface TemplateCall {
  helper: 'ref' | 'source';
  args: string[];
  /** Line in the model file. */
  line: number;
}

export function parseTemplate(model: ParsedModel): hbs.AST.Program {
  try {
    return Handlebars.parse(model.body);
  } catch (cause) {
    throw templateSyntaxError(model, cause);
  }
}

export function findTemplateCalls(model: ParsedModel, program: hbs.AST.Program): TemplateCall[] {
  const calls: TemplateCall[] = [];
  const fileLine = (line: number) => line + model.bodyFirstLine - 1;

  const visitCall = (node: { path: HbsNode; params: HbsNode[]; loc: hbs.AST.SourceLocation }) => {
    const name = node.path.type === 'PathExpression' ? (node.path as hbs.AST.PathExpression).original : '';
    if (name === 'ref' || name === 'source') {
      const args = node.params.map((param) => {
        if (param.type !== 'StringLiteral') {
          throw configError(
            `${model.path}:${fileLine(node.loc.start.line)}`,
            `${name} takes quoted names`,
            `write {{${name} "name"}} — computed names would hide the dependency from the DAG`,
          );
        }
        return (param as hbs.AST.StringLiteral).value;
      });
      calls.push({ helper: name, args, line: fileLine(node.loc.start.line) });
    }
    node.params.forEach(visit);
  };

  const visit = (node: HbsNode | undefined | null): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        (node as hbs.AST.Program).body.forEach(visit);
        break;
      case 'MustacheStatement':
      case 'SubExpression':
        visitCall(node as hbs.AST.MustacheStatement);
        break;
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        block.params.forEach(visit);
        visit(block.program);
        visit(block.inverse);
        break;
      }
    }
  };
  visit(program);
  return calls;
}

/** Handlebars parse errors say "Parse error on line N:" and a long list of tokens; keep the line. */
export function templateSyntaxError(model: ParsedModel, cause: unknown) {
  const text = cause instanceof Error ? cause.message : String(cause);
  const line = Number(/line (\d+)/.exec(text)?.[1] ?? 1) + model.bodyFirstLine - 1;
  const near = text.split('\n')[1]?.trim();
  return configError(
    `${model.path}:${line}`,
    `template syntax error${near ? ` near '${near}'` : ''}`,
    'check the {{ }} and {{#if}}…{{/if}} pairs',
    cause,
  );
}
