/** The run as an SVG chart (Vega-Lite, rendered headless): per system and offered rate, what got through, how fast, at what CPU cost. */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type SystemResult, systemCpuMsPerCall } from './report.js';
import { SYSTEM_LABELS } from './systems.js';

export async function chartSvg(results: readonly SystemResult[], title: string): Promise<string> {
  const values = results.flatMap((r) =>
    r.steps.map((step) => ({
      system: r.label,
      rate: step.rate,
      completed: step.succeeded / step.seconds,
      p99: step.setupMs.p99,
      cpu: systemCpuMsPerCall(step),
      outcome: step.clean ? 'no failed call' : 'failed calls',
    })),
  );
  const panel = (
    field: string,
    axis: string,
    options: { scale?: object; axis?: object; withoutRig?: boolean } = {},
  ) => ({
    width: 300,
    height: 240,
    // The rig (SIPp to SIPp) has no system under test to charge CPU to.
    ...(options.withoutRig === true ? { transform: [{ filter: `datum.system !== '${SYSTEM_LABELS.direct}'` }] } : {}),
    mark: { type: 'line' as const, point: { filled: true, size: 60 } },
    encoding: {
      x: { field: 'rate', type: 'quantitative' as const, title: 'offered calls/s' },
      y: { field, type: 'quantitative' as const, title: axis, scale: options.scale ?? {}, axis: options.axis ?? {} },
      color: { field: 'system', type: 'nominal' as const, title: null, legend: { labelLimit: 320 } },
      shape: {
        field: 'outcome',
        type: 'nominal' as const,
        title: null,
        scale: { domain: ['no failed call', 'failed calls'], range: ['circle', 'cross'] },
      },
    },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values },
    hconcat: [
      panel('completed', 'successful calls/s'),
      panel('p99', 'INVITE→200 p99, ms (symlog scale)', {
        scale: { type: 'symlog' },
        axis: { values: [0, 10, 100, 1000, 10000, 60000] },
      }),
      panel('cpu', 'CPU ms per call (system under test)', { withoutRig: true }),
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
