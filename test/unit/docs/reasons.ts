// Every condition and event reason the operator's code can set, found in its source with the
// TypeScript compiler (no list to keep in step by hand): the PascalCase string literals
//   - passed as an argument whose parameter is named `reason` or `…Reason` (step outcomes
//     `done`/`wait`/`stop`, `trueCondition`/`falseCondition`, a helper's `failedReason`), found
//     through the type checker's resolved signature;
//   - in the value of a `reason` property, or of a variable named `reason` or `…Reason`;
// through conditionals (`x ? 'A' : 'B'`), `??` and parentheses. Reasons made at run time from
// a name (`Invalid<Field>`, `<Step>Error`, `WaitingFor<Step>`) are documented as families.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const PASCAL = /^[A-Z][A-Za-z]+$/;
const REASON_NAME = /(^r|R)eason$/;

export interface ReasonUse {
  reason: string;
  /** file:line of its first use. */
  where: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The PascalCase string literals of `node` (through conditionals, `??` and parentheses). */
function literals(node: ts.Node): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
    return PASCAL.test(node.text) ? [node.text] : [];
  }
  if (ts.isConditionalExpression(node)) {
    return [...literals(node.whenTrue), ...literals(node.whenFalse)];
  }
  if (ts.isParenthesizedExpression(node)) return literals(node.expression);
  if (
    ts.isBinaryExpression(node) &&
    node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken
  ) {
    return [...literals(node.left), ...literals(node.right)];
  }
  return [];
}

/** The name of the parameter that argument `index` of `call` binds to, if resolvable. */
function parameterName(
  checker: ts.TypeChecker,
  call: ts.CallExpression,
  index: number,
): string | undefined {
  const params = checker.getResolvedSignature(call)?.getParameters() ?? [];
  return params[Math.min(index, params.length - 1)]?.getName();
}

/** Every reason set under `dirs` (relative to `root`), each with where it is first used. */
export function reasonsInCode(root: string, dirs: readonly string[]): ReasonUse[] {
  const files = dirs.flatMap((d) => sourceFiles(join(root, d)));
  const program = ts.createProgram(files, {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ESNext,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const found = new Map<string, string>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (source === undefined) continue;
    const add = (node: ts.Node, reasons: string[]): void => {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      for (const r of reasons) {
        if (!found.has(r)) found.set(r, `${relative(root, file)}:${String(line)}`);
      }
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        node.arguments.forEach((arg, i) => {
          const literalsOfArg = literals(arg);
          if (literalsOfArg.length === 0) return;
          if (REASON_NAME.test(parameterName(checker, node, i) ?? '')) add(arg, literalsOfArg);
        });
      } else if (ts.isPropertyAssignment(node) && node.name.getText(source) === 'reason') {
        add(node, literals(node.initializer));
      } else if (
        ts.isVariableDeclaration(node) &&
        node.initializer !== undefined &&
        REASON_NAME.test(node.name.getText(source))
      ) {
        add(node, literals(node.initializer));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return [...found]
    .map(([reason, where]) => ({ reason, where }))
    .sort((a, b) => a.reason.localeCompare(b.reason));
}
