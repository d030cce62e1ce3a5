// `frappe-operator render` and `frappe-operator crds` (docs/cli.md): offline commands, no cluster
// and no kubeconfig. `render` prints the children the operator would create for the manifests
// it is given (render.ts), `crds` the CustomResourceDefinitions of our four kinds. src/cli.ts loads
// this module only for these commands: it may load the API schemas (validation), which the
// running operator never does.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { crdYaml, YAML_OUTPUT } from '../api/crd.ts';
import { KINDS } from '../api/v1alpha1/index.ts';
import { OperatorConfigHolder } from '../config/holder.ts';
import { OPERATOR_CONFIGMAP_NAME, OperatorConfigError } from '../config/operator-config.ts';
import { configDefaults, type OperatorDefaults } from '../controllers/shared/defaults.ts';
import { OPERATOR_IMAGE } from '../deploy/names.ts';
import { flagProblem, wantsHelp } from '../flags.ts';
import { parseInput, type Source } from './input.ts';
import { render, RenderError, type Rendered } from './render.ts';

export const RENDER_USAGE = `usage: frappe-operator render -f FILE [-f FILE ...] [--namespace NS] [--config FILE]
                              [--no-keda] [--openshift]

Prints, as multi-document YAML on stdout, the objects the operator creates for every FrappeBench,
FrappeSite, SiteBackup and SiteJob of the input once their reconcile is done — offline: no
cluster, no kubeconfig. A site needs its FrappeBench in the input, a SiteBackup or SiteJob its
FrappeSite. Secret values are never printed.

  -f, --filename FILE   YAML to read (several documents, kind: List); - reads stdin; repeatable
  -n, --namespace NS    the namespace of objects that name none (default: default)
      --config FILE     the operator configuration: ConfigMap ${OPERATOR_CONFIGMAP_NAME} (a
                        manifest, or a mapping of its data keys); keys FRAPPE_* set the env-only
                        settings (FRAPPE_OPERATOR_IMAGE, FRAPPE_DEFAULT_UID, FRAPPE_IS_OPENSHIFT…)
      --no-keda         as on a cluster without KEDA: no ScaledObject or TriggerAuthentication
      --openshift       as on OpenShift (default: FRAPPE_IS_OPENSHIFT of --config, else no)
  -h, --help            this help

Exit codes: 0 printed; 1 a file could not be read; 2 usage error or invalid input.`;

export const CRDS_USAGE = `usage: frappe-operator crds

Prints the CustomResourceDefinitions of FrappeBench, FrappeSite, SiteBackup and SiteJob as one
multi-document YAML stream:

  frappe-operator crds | kubectl apply --server-side -f -

  -h, --help   this help`;

/** Where a command writes and reads: the process's streams, or a test's. */
export interface CommandIO {
  out(text: string): Promise<void>;
  err(text: string): Promise<void>;
  readStdin(): Promise<string>;
}

const write = (stream: NodeJS.WriteStream) => (text: string) =>
  new Promise<void>((resolve, reject) => {
    stream.write(text, (e) => {
      if (e) reject(e);
      else resolve();
    });
  });

export const PROCESS_IO: CommandIO = {
  out: write(process.stdout),
  err: write(process.stderr),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** A failure reading the input (exit code 1). */
class IOProblem extends Error {}

async function usageError(io: CommandIO, command: string, problem: string, usage: string) {
  await io.err(`frappe-operator ${command}: ${problem}\n\n${usage}\n`);
  return 2;
}

/** `frappe-operator crds`: resolves with the exit code. */
export async function crdsCommand(argv: readonly string[], io: CommandIO = PROCESS_IO) {
  if (wantsHelp(argv)) {
    await io.out(`${CRDS_USAGE}\n`);
    return 0;
  }
  const [word] = argv;
  if (word !== undefined) {
    const problem = word.startsWith('-') ? `unknown flag ${word}` : `unexpected argument ${word}`;
    return usageError(io, 'crds', problem, CRDS_USAGE);
  }
  await io.out(KINDS.map((k) => crdYaml(k)).join(''));
  return 0;
}

interface RenderFlags {
  files: string[];
  namespace: string;
  config: string | undefined;
  keda: boolean;
  openshift: boolean | undefined;
}

function parseRenderFlags(argv: readonly string[]): RenderFlags {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    allowNegative: true,
    options: {
      filename: { type: 'string', short: 'f', multiple: true },
      namespace: { type: 'string', short: 'n', default: 'default' },
      config: { type: 'string' },
      keda: { type: 'boolean', default: true },
      openshift: { type: 'boolean' },
    },
  });
  return {
    files: values.filename ?? [],
    namespace: values.namespace,
    config: values.config,
    keda: values.keda,
    openshift: values.openshift,
  };
}

async function readSource(name: string, io: CommandIO): Promise<Source> {
  try {
    return { name, text: name === '-' ? await io.readStdin() : await readFile(name, 'utf8') };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new IOProblem(
      `cannot read ${name === '-' ? 'stdin' : name}: ${typeof code === 'string' ? code : String(err)}`,
    );
  }
}

/** The operator defaults of `--config` (ConfigMap data and FRAPPE_* settings) or of none. */
function defaultsOf(text: string | undefined, file: string, openshift: boolean | undefined) {
  let data: unknown = {};
  if (text !== undefined) {
    try {
      data = parse(text) ?? {};
    } catch (err) {
      throw new RenderError([`${file}: not valid YAML: ${String(err).split('\n')[0] ?? ''}`]);
    }
  }
  const record = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (record(data) && data.kind === 'ConfigMap') data = data.data ?? {};
  if (!record(data)) {
    throw new RenderError([
      `${file}: expected ConfigMap ${OPERATOR_CONFIGMAP_NAME} or a mapping of its keys`,
    ]);
  }
  const configMapData: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    (k.startsWith('FRAPPE_') ? env : configMapData)[k] = String(v);
  }
  let holder: OperatorConfigHolder;
  try {
    holder = OperatorConfigHolder.fromStartup({ configMapData, env }).holder;
  } catch (err) {
    if (err instanceof OperatorConfigError) throw new RenderError([`${file}: ${err.message}`]);
    throw err;
  }
  const defaults: OperatorDefaults = configDefaults(
    holder,
    openshift ?? holder.config.isOpenShift ?? false,
  );
  // The install bundle sets FRAPPE_OPERATOR_IMAGE to the release's image.
  return { ...defaults, operatorImage: defaults.operatorImage ?? OPERATOR_IMAGE };
}

/** The rendered objects as one multi-document YAML stream, a comment line naming each. */
export function formatRendered(rendered: readonly Rendered[]): string {
  return rendered
    .map(({ owner, object }) => {
      const { namespace = '', name = '' } = object.metadata;
      const comment = `# ${object.kind} ${namespace}/${name} of ${owner.kind} ${owner.metadata.name ?? ''}`;
      return `---\n${comment}\n${stringify(object, { ...YAML_OUTPUT, aliasDuplicateObjects: false })}`;
    })
    .join('');
}

/** `frappe-operator render`: resolves with the exit code. */
export async function renderCommand(
  argv: readonly string[],
  io: CommandIO = PROCESS_IO,
): Promise<number> {
  if (wantsHelp(argv)) {
    await io.out(`${RENDER_USAGE}\n`);
    return 0;
  }
  let flags: RenderFlags;
  try {
    flags = parseRenderFlags(argv);
  } catch (err) {
    return usageError(io, 'render', flagProblem(err), RENDER_USAGE);
  }
  if (flags.files.length === 0) {
    return usageError(
      io,
      'render',
      'no input: name a file with -f FILE (- for stdin)',
      RENDER_USAGE,
    );
  }
  try {
    const configText =
      flags.config === undefined ? undefined : (await readSource(flags.config, io)).text;
    const defaults = defaultsOf(configText, flags.config ?? '', flags.openshift);
    const sources: Source[] = [];
    for (const f of flags.files) sources.push(await readSource(f, io));
    const input = parseInput(sources, flags.namespace);
    const rendered = render(input, { defaults, kedaAvailable: flags.keda });
    await io.out(formatRendered(rendered));
    return 0;
  } catch (err) {
    if (err instanceof RenderError) {
      await io.err(err.lines.map((l) => `frappe-operator render: ${l}\n`).join(''));
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    await io.err(`frappe-operator render: ${message.split('\n')[0] ?? ''}\n`);
    return 1;
  }
}
