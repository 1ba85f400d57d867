// Scan the door QR code inside the app, on every phone with a camera: the rear camera's frames
// are downscaled onto a canvas and read by BarcodeDetector where the browser has one, otherwise
// by jsQR (loaded by this screen only: see qr.js). A door code opens its check-in exactly as a
// typed one does; typing stays for a worn code, a refused camera or a screen reader. The rep is
// never sent to another app: a link opened there would miss the session and the outbox.
import { h, add, t } from '../ui.js';
import { tokenFrom, qrDecoder } from '../qr.js';

const MAX_EDGE = 800; // px of the longer side handed to the decoder
const EVERY_MS = 120; // from one decode's start to the next: the page stays responsive
const CONSTRAINTS = { video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false };

export async function render(main, _params, { navigate }) {
  document.title = `${t('scan')} · Doorstep`;
  add(main, h('h1', {}, t('scan_title')));

  const status = h('p', { role: 'status', class: 'muted', id: 'scan-status' });
  const problem = h('div', { class: 'card attention', id: 'camera-problem', role: 'alert' });
  const startButton = h('button', { class: 'primary wide', type: 'button', id: 'camera-start', onclick: () => start() }, t('start_camera'));
  const torchButton = h('button', { class: 'wide', type: 'button', id: 'torch', 'aria-pressed': 'false', onclick: toggleTorch }, t('torch'));
  const video = h('video', { class: 'scan-video', playsinline: true, muted: true, autoplay: true, 'aria-label': t('camera_view') });
  video.muted = true; // the attribute alone does not count for autoplay everywhere
  const frame = h('div', { 'aria-hidden': 'true' });
  const view = h('div', { id: 'scan-view' }, video, frame);
  Object.assign(view.style, { position: 'relative', lineHeight: '0' });
  Object.assign(video.style, { display: 'block', aspectRatio: '1', objectFit: 'cover', maxHeight: '50vh' });
  Object.assign(frame.style, {
    position: 'absolute', top: '15%', left: '50%', height: '70%', aspectRatio: '1', transform: 'translateX(-50%)',
    border: '3px solid rgba(255,255,255,.9)', borderRadius: '12px', boxShadow: '0 0 0 100vmax rgba(0,0,0,.25)',
    pointerEvents: 'none',
  });
  view.style.overflow = 'hidden';
  view.style.borderRadius = 'var(--radius)';
  add(main, view, status, problem, startButton, torchButton);
  for (const el of [view, problem, startButton, torchButton]) show(el, false);

  // Typing or pasting the link printed under the code works everywhere.
  const input = h('input', { id: 'qr-text', type: 'url', inputmode: 'url', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'https://…/q/…' });
  const error = h('p', { class: 'error-text', role: 'alert' });
  add(main, h('form', {
    novalidate: true,
    onsubmit: (event) => {
      event.preventDefault();
      const token = tokenFrom(input.value);
      if (!token) { error.textContent = t('not_a_door_code'); return; }
      leave(token);
    },
  }, h('label', { for: 'qr-text' }, t('paste_link')), input, error,
  h('button', { class: 'wide', type: 'submit' }, t('continue'))));

  let mounted = true;
  let stream = null;
  let track = null;
  let torchOn = false;
  let timer = 0;
  let session = 0; // bumps on every start/stop, so a late camera or decode answer is ignored
  let decoder = null;
  let notCodeUntil = 0;
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  // Figures for the bench and the tests (harmless in production): when the first frame arrived.
  const metrics = { decoder: null, firstFrameAt: null, decodedAt: null, frames: 0 };
  window.__doorstepScanMetrics = metrics;

  // `hidden` alone does not hide a button: app.css gives buttons a display of their own.
  function show(el, on) {
    el.hidden = !on;
    el.style.display = on ? '' : 'none';
  }

  function showProblem(key, params) {
    problem.textContent = t(key, params);
    show(problem, true);
    status.textContent = '';
  }

  function leave(token) {
    stop();
    mounted = false;
    navigate(`/q/${token}`);
  }

  async function start() {
    stop();
    const mine = ++session;
    show(problem, false);
    show(startButton, false);
    if (!navigator.mediaDevices?.getUserMedia) {
      showProblem(window.isSecureContext ? 'camera_absent' : 'camera_needs_https');
      return;
    }
    status.textContent = t('camera_starting');
    // The decoder loads while the camera opens (from the worker's cache when offline).
    decoder ||= qrDecoder().then((d) => { metrics.decoder = d.name; return d; });
    decoder.catch(() => {});
    try {
      const opened = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
      if (mine !== session || !mounted) { opened.getTracks().forEach((each) => each.stop()); return; }
      stream = opened;
      [track] = stream.getVideoTracks();
      video.addEventListener('loadeddata', firstFrame, { once: true });
      video.srcObject = stream;
      show(view, true);
      await video.play().catch(() => {}); // autoplay+muted plays anyway; a rejected play() is not fatal
    } catch (failure) {
      if (mine !== session) return;
      cameraFailed(failure);
      return;
    }
    if (mine !== session) return;
    status.textContent = t('point_at_code');
    offerTorch();
    try {
      await decoder;
    } catch (failure) {
      console.error('scan: decoder', failure);
      decoder = null; // retried on the next start (the network may be back)
      stop();
      show(view, false);
      showProblem('scanner_unavailable');
      show(startButton, true);
      return;
    }
    if (mine === session) tick(mine);
  }

  function cameraFailed(failure) {
    stop();
    show(view, false);
    const name = failure?.name || '';
    if (name === 'NotAllowedError' || name === 'SecurityError') showProblem('camera_refused');
    else if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') showProblem('camera_absent');
    else if (name === 'NotReadableError' || name === 'AbortError') showProblem('camera_busy');
    else showProblem('camera_failed', { reason: failure?.message || name });
    show(startButton, name !== 'NotFoundError');
  }

  async function tick(mine) {
    if (mine !== session) return;
    const started = performance.now();
    if (video.readyState >= 2 && video.videoWidth) {
      firstFrame();
      const scale = Math.min(1, MAX_EDGE / Math.max(video.videoWidth, video.videoHeight));
      const width = Math.round(video.videoWidth * scale);
      const height = Math.round(video.videoHeight * scale);
      if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
      context.drawImage(video, 0, 0, width, height);
      metrics.frames += 1;
      const texts = await (await decoder).detect(canvas).catch(() => []);
      if (mine !== session) return;
      const token = texts.map(tokenFrom).find(Boolean);
      if (token) {
        metrics.decodedAt = performance.now();
        performance.mark('doorstep-scan-decoded');
        leave(token);
        return;
      }
      if (texts.length) { status.textContent = t('not_a_door_code'); notCodeUntil = started + 2000; }
      else if (started > notCodeUntil) status.textContent = t('point_at_code');
    }
    const wait = Math.max(0, EVERY_MS - (performance.now() - started));
    timer = setTimeout(() => requestAnimationFrame(() => tick(mine)), wait);
  }

  // Stamped when the camera's first frame is there, even while the decoder is still loading.
  function firstFrame() {
    if (metrics.firstFrameAt !== null) return;
    metrics.firstFrameAt = performance.now();
    performance.mark('doorstep-scan-first-frame');
  }

  function offerTorch() {
    const capabilities = track?.getCapabilities?.() || {};
    torchOn = false;
    torchButton.setAttribute('aria-pressed', 'false');
    show(torchButton, Boolean(capabilities.torch));
  }

  async function toggleTorch() {
    if (!track) return;
    try {
      await track.applyConstraints({ advanced: [{ torch: !torchOn }] });
      torchOn = !torchOn;
      torchButton.setAttribute('aria-pressed', String(torchOn));
    } catch (failure) {
      console.warn('scan: torch', failure);
      show(torchButton, false);
    }
  }

  function stop() {
    session += 1;
    clearTimeout(timer);
    stream?.getTracks().forEach((each) => each.stop());
    stream = null;
    track = null;
    video.srcObject = null;
    show(torchButton, false);
  }

  // A phone that locks or switches apps gets its camera back: stopped while hidden, reopened
  // when the rep returns to this screen.
  let resume = false;
  function onVisibility() {
    if (!mounted) return;
    if (document.hidden) { resume = Boolean(stream); stop(); } else if (resume) { resume = false; start(); }
  }
  document.addEventListener('visibilitychange', onVisibility);

  start();

  return () => {
    mounted = false;
    document.removeEventListener('visibilitychange', onVisibility);
    stop();
  };
}
