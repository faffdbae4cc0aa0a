// The package ships no types: the shape it returns (prom2json's) is described in test/helpers/metrics.ts.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
