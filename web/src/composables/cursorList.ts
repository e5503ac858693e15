// A paged listing read page by page ("load more"): the items so far, the next page's cursor,
// loading and the last error (the API's message, for the page to show). `reload` starts over
// (filters changed); an answer to an older request than the latest is dropped.
import { ref, shallowRef, type Ref } from 'vue';
import { describeError } from '@/api/describe';

export interface CursorPage<T> {
  items: T[];
  next: string | number | null;
}

export function useCursorList<T>(fetchPage: (cursor: string | number | null) => Promise<CursorPage<T>>) {
  const items = shallowRef<T[]>([]) as Ref<T[]>;
  const next = ref<string | number | null>(null);
  const loading = ref(false);
  const loaded = ref(false); // the first page has been answered (or failed)
  const error = ref('');
  let generation = 0;

  async function run(cursor: string | number | null, append: boolean): Promise<void> {
    const mine = ++generation;
    loading.value = true;
    error.value = '';
    try {
      const page = await fetchPage(cursor);
      if (mine !== generation) return;
      items.value = append ? [...items.value, ...page.items] : page.items;
      next.value = page.next;
    } catch (e) {
      if (mine !== generation) return;
      if (!append) items.value = [];
      error.value = describeError(e);
    } finally {
      if (mine === generation) {
        loading.value = false;
        loaded.value = true;
      }
    }
  }

  const reload = () => run(null, false);
  const more = () => (next.value === null ? Promise.resolve() : run(next.value, true));
  // One item replaced in place (after an action answered with its new state).
  function replace(match: (item: T) => boolean, item: T): void {
    items.value = items.value.map((x) => (match(x) ? item : x));
  }

  return { items, next, loading, loaded, error, reload, more, replace };
}
