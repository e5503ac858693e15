// The communities and groups, kept for the pages that name them (a task's group, a decision's
// "platform:id", a membership's group id): loaded once, again after a minute or on request.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, fetchAll } from '@/api/client';
import type { Community, Group } from '@/api/types';

const FRESH_MS = 60_000;

export const useDirectoryStore = defineStore('directory', () => {
  const communities = ref<Community[]>([]);
  const groups = ref<Group[]>([]);
  let loadedAt = 0;
  let loading: Promise<void> | null = null;

  let communitiesLoading: Promise<void> | null = null;

  function load(force = false): Promise<void> {
    if (!force && Date.now() - loadedAt < FRESH_MS) return Promise.resolve();
    loading ??= Promise.all([
      loadCommunities(force),
      fetchAll<Group>('/api/v1/groups', 'groups'),
    ]).then(([, g]) => {
      groups.value = g.items;
      loadedAt = Date.now();
    }).finally(() => { loading = null; });
    return loading;
  }

  // The communities alone (a page that needs one to ask for its data need not wait for the groups).
  let communitiesAt = 0;
  function loadCommunities(force = false): Promise<void> {
    if (!force && Date.now() - communitiesAt < FRESH_MS) return Promise.resolve();
    communitiesLoading ??= api.get<{ communities: Community[] }>('/api/v1/communities').then((c) => {
      communities.value = c.communities;
      communitiesAt = Date.now();
    }).finally(() => { communitiesLoading = null; });
    return communitiesLoading;
  }

  const groupById = computed(() => new Map(groups.value.map((g) => [g.id, g])));
  const groupByRef = computed(() => new Map(groups.value.map((g) => [`${g.platform}:${g.external_id}`, g])));
  const communityById = computed(() => new Map(communities.value.map((c) => [c.id, c])));
  const communityBySlug = computed(() => new Map(communities.value.map((c) => [c.slug, c])));

  function communityName(id: number | null | undefined): string {
    if (id === null || id === undefined) return '';
    const c = communityById.value.get(id);
    return c ? c.name || c.slug : String(id);
  }

  return { communities, groups, load, loadCommunities, groupById, groupByRef, communityById, communityBySlug, communityName };
});
