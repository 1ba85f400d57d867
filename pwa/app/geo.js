// Position for check-in: watch the GPS, keep the best recent fix, measure distance to the store.
const FRESH_MS = 2 * 60_000;

export function distanceM(a, b) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The server's rule (DESIGN §6): accuracy earns at most 100 m of credit. */
export function effectiveDistance(distance, accuracy) {
  return Math.max(0, distance - Math.min(accuracy, 100));
}

/** watch(onFix, onError) → stop(). Fixes: {lat, lng, accuracy_m, captured_at}; the best (most
 * accurate) fix of the last two minutes is reported each time a fix arrives. */
export function watchBestFix(onFix, onError) {
  if (!('geolocation' in navigator)) { onError({ code: 'unsupported' }); return () => {}; }
  let best = null;
  const id = navigator.geolocation.watchPosition((pos) => {
    const fix = {
      lat: pos.coords.latitude, lng: pos.coords.longitude,
      accuracy_m: Math.max(0, pos.coords.accuracy || 0),
      // The page's clock, the one that stamps device_time: the server corrects captured_at by
      // (its time - device_time), which needs both from one clock. pos.timestamp may come from
      // another (GNSS time on some phones, the real clock under a test's fake one).
      captured_at: new Date().toISOString(),
    };
    const stale = best && Date.now() - Date.parse(best.captured_at) > FRESH_MS;
    if (!best || stale || fix.accuracy_m <= best.accuracy_m) best = fix;
    onFix(best, fix);
  }, (error) => onError(error), { enableHighAccuracy: true, maximumAge: 0, timeout: 30_000 });
  return () => navigator.geolocation.clearWatch(id);
}
