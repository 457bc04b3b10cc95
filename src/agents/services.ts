/** What only agents need (docs/agents.md), as the transports reach it: one object, made by the wiring (cli/serve.ts). */
import type { ApprovalService } from './approvals.js';
import type { Summarizer } from './summarize.js';
import type { SummaryIndex } from './summaries.js';
import type { WindowService } from './window.js';

export interface AgentServices {
  /** Context windows under a token budget. */
  window: WindowService;
  /** Summaries standing in for ranges: reads with summaries, and retention's view of them. */
  summaries: SummaryIndex;
  /** Summaries written by the configured language model. */
  summarizer: Summarizer;
  /** Approval requests and decisions. */
  approvals: ApprovalService;
}
