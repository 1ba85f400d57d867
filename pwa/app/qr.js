// Door QR codes: the whole scanned URL (…/q/<token>) or the bare token. The token's first 16
// bytes are the store id (see backend/stores/qr.py), which lets the app find the cached store
// offline; only the server can verify the signature.
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function tokenFrom(text) {
  const value = String(text || '').trim();
  if (TOKEN.test(value)) return value;
  try {
    const url = new URL(value, location.origin);
    const match = url.pathname.match(/\/q\/([A-Za-z0-9_-]{43})\/?$/);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

export function storeIdFrom(token) {
  if (!TOKEN.test(token || '')) return null;
  const base64 = token.replace(/-/g, '+').replace(/_/g, '/') + '=';
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).slice(0, 16);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- the decoder behind the scan screen -------------------------------------------------------
// The browser's BarcodeDetector where it reads QR codes (Android Chrome, macOS, ChromeOS);
// elsewhere (iPhones, Firefox, many Android browsers) jsQR, an npm package served by the server
// as /vendor/jsqr.js. Only the scan screen asks for it, so it is not in the app's first load; the
// service worker caches it once the app is up, for offline use.
export const DECODER_URL = '/vendor/jsqr.js';

/** A QR decoder: `{ name, detect(canvas) -> Promise<string[]> }` (the codes' texts). */
export async function qrDecoder() {
  if ('BarcodeDetector' in self) {
    const formats = await Promise.resolve(self.BarcodeDetector.getSupportedFormats?.()).catch(() => []);
    if ((formats || []).includes('qr_code')) {
      const detector = new self.BarcodeDetector({ formats: ['qr_code'] });
      return { name: 'native', detect: async (canvas) => (await detector.detect(canvas)).map((c) => c.rawValue) };
    }
  }
  // jsQR ships as a UMD bundle: imported as a module (no `exports`, no `define`) it sets self.jsQR.
  await import(DECODER_URL);
  const jsQR = self.jsQR;
  if (typeof jsQR !== 'function') throw new Error('jsQR did not load');
  return {
    name: 'jsqr',
    detect: async (canvas) => {
      const context = canvas.getContext('2d', { willReadFrequently: true });
      const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
      // Door codes are printed dark on light: skipping the inverted pass halves the work.
      const code = jsQR(data, width, height, { inversionAttempts: 'dontInvert' });
      return code ? [code.data] : [];
    },
  };
}
