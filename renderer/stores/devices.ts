// Plugged HSM tokens (devices.list), refreshed every few seconds while a screen shows them, so a token
// plugged in or pulled out appears without a reload (the appliance lists the bus on each call).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useClient } from '../client/index.js';
import { readDeviceListing, type DeviceListing } from '../lib/devices.js';
import { useTask } from './task.js';

export const DEVICE_REFRESH_MS = 3_000;

export const useDevicesStore = defineStore('devices', () => {
  const client = useClient();
  const listing = ref<DeviceListing | null>(null);
  const task = useTask();
  let watchers = 0;
  let timer: ReturnType<typeof setInterval> | null = null;

  async function refresh(): Promise<void> {
    const raw = await task.run(() => client.run('devices.list', {}));
    if (raw !== undefined) listing.value = readDeviceListing(raw);
  }

  /** Starts refreshing while at least one screen watches; returns the function that stops this watcher. */
  function watch(): () => void {
    watchers++;
    if (watchers === 1) {
      void refresh();
      timer = setInterval(() => void refresh(), DEVICE_REFRESH_MS);
    }
    return () => {
      watchers--;
      if (watchers === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }

  return { listing, error: task.error, refresh, watch };
});
