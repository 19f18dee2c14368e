// The appliance's seal state and dashboard: `status`, `dashboard`, `seal` and `unseal`. Unseal shares go
// straight from the form to the command and are not kept here.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DashboardView, StatusView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { useTask } from './task.js';

export const useApplianceStore = defineStore('appliance', () => {
  const client = useClient();
  const status = ref<StatusView | null>(null);
  const dashboard = ref<DashboardView | null>(null);
  const statusTask = useTask();
  const dashboardTask = useTask();
  const sealTask = useTask();

  async function refreshStatus(): Promise<void> {
    const s = await statusTask.run(() => client.run('status', {}));
    if (s) status.value = s;
  }

  async function refreshDashboard(): Promise<void> {
    const d = await dashboardTask.run(() => client.run('dashboard', {}));
    if (d) {
      dashboard.value = d;
      status.value = d.status;
    }
  }

  /** Gives unseal shares (or a PKCS#11 PIN); true when the command was accepted. */
  async function unseal(input: { shares?: string[]; pin?: string }): Promise<boolean> {
    const s = await sealTask.run(() => client.run('unseal', input));
    if (s) status.value = s;
    return s !== undefined;
  }

  async function seal(): Promise<boolean> {
    const s = await sealTask.run(() => client.run('seal', {}));
    if (s) status.value = s;
    return s !== undefined;
  }

  return {
    status,
    dashboard,
    statusError: statusTask.error,
    dashboardError: dashboardTask.error,
    dashboardBusy: dashboardTask.busy,
    sealError: sealTask.error,
    sealBusy: sealTask.busy,
    refreshStatus,
    refreshDashboard,
    unseal,
    seal,
  };
});
