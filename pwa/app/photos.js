// Photos are downscaled on the phone before they are queued (DESIGN §7): long edge at most the
// server's `photo_long_edge_px` (GET /api/v1/config, 1600 px), JPEG quality 0.8. A 12 MP camera
// shot (3-5 MB) becomes ~300 KB, which is what a rep's data plan and the outbox can carry. A
// small thumbnail is kept for the visit screen's preview.
import { policyNow } from './policy.js';

// Only until the phone has heard the policy once (the bench's page, a first start offline).
const FALLBACK_EDGE = 1600;
export const QUALITY = 0.8;
const THUMB_EDGE = 320;

async function bitmapOf(file, edge) {
  // Orientation from EXIF is applied, so portrait shots stay portrait.
  const probe = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, edge / Math.max(probe.width, probe.height));
  if (scale === 1) return probe;
  const width = Math.round(probe.width * scale);
  const height = Math.round(probe.height * scale);
  probe.close();
  return createImageBitmap(file, {
    imageOrientation: 'from-image', resizeWidth: width, resizeHeight: height, resizeQuality: 'high',
  });
}

async function encode(bitmap, quality) {
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    return canvas.convertToBlob({ type: 'image/jpeg', quality });
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
}

/** → {blob, thumb, width, height, bytes, original_bytes} */
export async function downscale(file, longEdge = policyNow()?.photo_long_edge_px || FALLBACK_EDGE) {
  const bitmap = await bitmapOf(file, longEdge);
  const { width, height } = bitmap;
  const blob = await encode(bitmap, QUALITY);
  bitmap.close();
  const small = await bitmapOf(blob, THUMB_EDGE);
  const thumb = await encode(small, 0.7);
  small.close();
  return { blob, thumb, width, height, bytes: blob.size, original_bytes: file.size };
}
