// An ECharts chart bound to an element for a component's lifetime: made on mount, `render` run
// then and whenever `sources` change, resized with the window, disposed on unmount. Callers
// register the ECharts parts they use (echarts.use) before.
import { onBeforeUnmount, onMounted, ref, watch, type Ref, type WatchSource } from 'vue';
import * as echarts from 'echarts/core';

export function useChart(render: (chart: echarts.ECharts) => void, sources: WatchSource[]): Ref<HTMLDivElement | null> {
  const el = ref<HTMLDivElement | null>(null);
  let chart: echarts.ECharts | null = null;
  const draw = () => { if (chart) render(chart); };
  const resize = () => { chart?.resize(); };
  onMounted(() => {
    if (!el.value) return;
    chart = echarts.init(el.value);
    draw();
    window.addEventListener('resize', resize);
  });
  onBeforeUnmount(() => {
    window.removeEventListener('resize', resize);
    chart?.dispose();
    chart = null;
  });
  watch(sources, draw);
  return el;
}
