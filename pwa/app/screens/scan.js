// Scan the door QR code: in-app with BarcodeDetector where the browser has it; otherwise the
// phone's own camera app reads the code and opens /q/<token>, which lands on the check-in screen.
import { h, add, t } from '../ui.js';
import { tokenFrom } from '../qr.js';

export async function render(main, _params, { navigate }) {
  document.title = `${t('scan')} · Doorstep`;
  const status = h('p', { role: 'status', class: 'muted' });
  add(main, h('h1', {}, t('scan_title')));
  let stream = null;
  let timer = 0;

  const supported = 'BarcodeDetector' in window
    && (await window.BarcodeDetector.getSupportedFormats?.().catch(() => []) || []).includes('qr_code');
  if (supported && navigator.mediaDevices?.getUserMedia) {
    const video = h('video', { class: 'scan-video', playsinline: true, muted: true, 'aria-label': t('camera_view') });
    const startButton = h('button', { class: 'primary wide', type: 'button', onclick: start }, t('start_camera'));
    add(main, video, startButton, status);
    async function start() {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
        video.srcObject = stream;
        await video.play();
        startButton.hidden = true;
        status.textContent = t('point_at_code');
        const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        const tick = async () => {
          const codes = await detector.detect(video).catch(() => []);
          const token = codes.map((c) => tokenFrom(c.rawValue)).find(Boolean);
          if (token) { stop(); navigate(`/q/${token}`); return; }
          if (codes.length) status.textContent = t('not_a_door_code');
          timer = setTimeout(tick, 250);
        };
        tick();
      } catch (error) {
        status.textContent = t('camera_failed', { reason: error.message });
      }
    }
  } else {
    add(main, h('div', { class: 'card', id: 'scan-guidance' },
      h('h2', {}, t('scan_with_camera_title')),
      h('ol', {}, h('li', {}, t('scan_step_1')), h('li', {}, t('scan_step_2')), h('li', {}, t('scan_step_3')))));
  }

  // Typing or pasting the link works everywhere (a code too worn to scan, a screen reader).
  const input = h('input', { id: 'qr-text', type: 'url', inputmode: 'url', autocomplete: 'off', placeholder: 'https://…/q/…' });
  const error = h('p', { class: 'error-text', role: 'alert' });
  add(main, h('form', {
    onsubmit: (event) => {
      event.preventDefault();
      const token = tokenFrom(input.value);
      if (!token) { error.textContent = t('not_a_door_code'); return; }
      navigate(`/q/${token}`);
    },
  }, h('label', { for: 'qr-text' }, t('paste_link')), input, error,
  h('button', { class: 'wide', type: 'submit' }, t('continue'))));

  function stop() {
    clearTimeout(timer);
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
  }
  return stop;
}
