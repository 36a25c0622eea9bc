/** The simulator's reports: JSON for machines, one HTML file for people, a terminal summary and progress. */
export { renderHtmlReport } from './html.ts';
export { stableJson, writeJsonReport } from './json.ts';
export { type ProgressOptions, ProgressReporter, type ProgressSample } from './progress.ts';
export { renderSummaryTable, type SummaryOptions, shouldColour } from './terminal.ts';
export type { ScenarioSummary, SimReport } from './types.ts';
