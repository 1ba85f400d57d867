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
