/**
 * Test helpers for other packages (`@sipedge/timers/testing`): the contract every TimerService
 * adapter must pass. Imports vitest, so import it from tests only.
 */
export { type TimersContractSetup, timersContract } from './contract.js';
