// Members' display names by id, for pages that have only ids (tasks, actions): each looked up
// once (GET /api/v1/members/{id}), a few at a time, and kept for the session.
import { reactive } from 'vue';
import { api } from '@/api/client';
import type { Member } from '@/api/types';

const names = reactive(new Map<number, string>());
const asked = new Set<number>();
const CONCURRENCY = 4;

export function useMemberNames() {
  async function lookUp(ids: Iterable<number | null | undefined>): Promise<void> {
    const todo = [...new Set(ids)].filter((id): id is number => typeof id === 'number' && id > 0 && !asked.has(id));
    todo.forEach((id) => asked.add(id));
    const worker = async () => {
      for (let id = todo.shift(); id !== undefined; id = todo.shift()) {
        try {
          const m = await api.get<Member>(`/api/v1/members/${id}`);
          names.set(id, m.display_name);
        } catch {
          asked.delete(id); // asked again next time
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  return { names, lookUp };
}
