import { MemoryStore } from '../../core/adapters/memory/store.ts';
import { storeContract } from './store.contract.ts';

storeContract('memory', async () => new MemoryStore());
