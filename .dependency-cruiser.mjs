/**
 * The layers of loraloop, lowest first, in the order a LoRA lives: its images are collected and measured
 * (dataset), it is trained (lora), it makes covers (cover) that are judged (critique); tools offer all of that,
 * the agent drives the tools, the app wires everything once, and faces (MCP, CLI, Slack) serve it.
 *
 * A module may import its own layer and the layers below it, never one above. `npm run lint` runs this, so an
 * import that reaches up fails the build (tests/core/layers.test.ts shows one). The README's "Architecture"
 * section says what goes where.
 */
const LAYERS = [
  ['core', '^src/(core|prompts)/'],
  ['clients', '^src/clients/'],
  ['store', '^src/store/'],
  ['image', '^src/image/'],
  ['dataset', '^src/dataset/'],
  ['lora', '^src/lora/'],
  ['cover', '^src/cover/'],
  ['critique', '^src/critique/'],
  ['tools', '^src/tools/'],
  ['agent', '^src/agent/'],
  ['app', '^src/(app|all-tools)\\.ts$'],
  ['server', '^src/server/'],
  ['faces', '^src/faces/'],
  ['main', '^src/main\\.ts$'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}`,
  comment: `${name} may import only ${LAYERS.slice(0, i + 1).map(([n]) => n).join(', ')} (it sits below ${LAYERS.slice(i + 1).map(([n]) => n).join(', ')})`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...upward,
    {
      name: 'no-runtime-cycle',
      comment: 'Modules that load each other at runtime (type-only imports do not count: they vanish when compiled).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'in-layers',
      comment: 'Every file under src/ belongs to a layer: a new top-level folder must be added to LAYERS in .dependency-cruiser.mjs.',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, p]) => p) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count for layers: a type from a higher layer is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
