import { createMemoryStores } from '../src/index.js';
import { storeContract } from '../src/testing/index.js';

storeContract('memory twin', async () => createMemoryStores());
