/**
 * Spans of memory operations, in OpenTelemetry's gen-AI semantic conventions: an agent uses the
 * memory as tools (the MCP tools of the same names), so a change is `execute_tool <tool>` and a
 * lookup is `retrieval <context>`, with the memory context as `gen_ai.conversation.id` and the
 * agent making the change as `gen_ai.agent.id`. The units an operation writes are its children.
 */
import { NO_SPAN, traced, type TraceSpan, type Tracer } from '../basics/tracer.js';

/** The memory tools (mcp/tools.ts names them alike); retrievals read, the others change. */
const RETRIEVALS: ReadonlySet<string> = new Set(['recall_facts', 'query_memory']);

/** Runs one memory operation in its span (or just runs it, with tracing off). */
export function memoryOperation<T>(tracer: Tracer | undefined, tool: string, contextId: string, agentId: string | undefined, fn: (span: TraceSpan) => Promise<T>): Promise<T> {
  if (tracer === undefined || !tracer.enabled) return fn(NO_SPAN);
  const retrieval = RETRIEVALS.has(tool);
  return traced(
    tracer,
    retrieval ? `retrieval ${contextId}` : `execute_tool ${tool}`,
    {
      attributes: {
        'gen_ai.operation.name': retrieval ? 'retrieval' : 'execute_tool',
        'gen_ai.tool.name': tool,
        'gen_ai.tool.type': 'function',
        'gen_ai.conversation.id': contextId,
        'gen_ai.data_source.id': retrieval ? contextId : undefined,
        'gen_ai.agent.id': agentId,
      },
    },
    fn,
  );
}
