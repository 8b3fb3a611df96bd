export { TimersUnavailableError, type TimerFire, type TimerHandler, type TimerService } from './port.js';
export { deadlineJobId, shardOf } from './job-id.js';
export {
  BullmqTimers,
  createBullmqTimers,
  type BullmqTimersOptions,
  type RedisClusterSeeds,
  type TimerJobData,
} from './bullmq-timers.js';
export {
  MemoryTimers,
  MemoryTimerHub,
  createMemoryTimers,
  createMemoryTimerHub,
  type MemoryTimersOptions,
} from './memory-timers.js';
