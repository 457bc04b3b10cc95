import { MemoryLog } from '../../src/storage/log-memory.js';
import { runLogContract } from './log.suite.js';

runLogContract('memory', { create: async () => new MemoryLog() });
