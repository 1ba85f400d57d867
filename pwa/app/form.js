// The visit form, rendered from its pinned definition (DESIGN §5 FormDefinition) with the
// server's rules mirrored: visible_if (a hidden field is never sent), required, bounds, lengths.
// The server still validates; its invalid_form pointers (/answers/<key>/...) are shown in place.
import { h, t, pick } from './ui.js';

const DEFAULT_MAX_LENGTH = { text: 500, textarea: 5000, string_list: 200 };
const DEFAULT_MAX_ITEMS = 100;
const RADIO_LIMIT = 6;

const same = (a, b) => (typeof a === 'boolean') === (typeof b === 'boolean') && a === b;

function holds(answer, expected) {
  if (answer === undefined || answer === null) return false;
  if (Array.isArray(answer)) return answer.some((item) => expected.some((value) => same(item, value)));
  return expected.some((value) => same(answer, value));
}

/** Which fields the answers leave visible (a field hidden by a hidden field is hidden too). */
export function visibility(fields, answers) {
  const shown = {};
  for (const field of fields) {
    const rule = field.visible_if;
    shown[field.key] = !rule || ((shown[rule.field] ?? true) && holds(answers[rule.field], rule.in ?? [rule.equals]));
  }
  return shown;
}

function isBlank(value) {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function checkScalar(spec, value) {
  if (spec.type === 'number' || spec.type === 'integer') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return t('err_number');
    if (spec.type === 'integer' && !Number.isInteger(value)) return t('err_integer');
    if (spec.min != null && value < spec.min) return t('err_min', { min: spec.min });
    if (spec.max != null && value > spec.max) return t('err_max', { max: spec.max });
  }
  if (typeof value === 'string') {
    const max = spec.max_length || DEFAULT_MAX_LENGTH[spec.type] || 500;
    if (value.length > max) return t('err_too_long', { max });
  }
  return null;
}

/** {key: message} for every problem at once; answers as from collect(). */
export function validate(fields, answers) {
  const shown = visibility(fields, answers);
  const errors = {};
  for (const field of fields) {
    if (!shown[field.key]) continue;
    const value = answers[field.key];
    if (isBlank(value)) {
      if (field.required) errors[field.key] = t('err_required');
      continue;
    }
    if (Array.isArray(value)) {
      const max = field.max_items || (field.type === 'multi_choice' ? (field.options || []).length : DEFAULT_MAX_ITEMS);
      if (value.length > max) { errors[field.key] = t('err_too_many', { max }); continue; }
      const alone = field.type === 'multi_choice' && value.length > 1
        && (field.options || []).find((o) => o.exclusive && value.includes(o.value));
      if (alone) { errors[field.key] = t('err_exclusive', { option: pick(alone.label) }); continue; }
      if (field.type === 'string_list') {
        const bad = value.map((item) => checkScalar(field, item)).find(Boolean);
        if (bad) errors[field.key] = bad;
      }
      if (field.type === 'table') {
        for (const row of value) {
          for (const column of field.columns || []) {
            const cell = row[column.key];
            const bad = isBlank(cell) ? (column.required ? t('err_required') : null) : checkScalar(column, cell);
            if (bad) { errors[field.key] = `${pick(column.label)}: ${bad}`; break; }
          }
          if (errors[field.key]) break;
        }
      }
      continue;
    }
    const bad = checkScalar(field, value);
    if (bad) errors[field.key] = bad;
  }
  return errors;
}

/** Server pointers (/answers/otc_out_of_stock/2) → {key: message}. */
export function serverErrors(problem) {
  const errors = {};
  for (const error of problem?.errors || []) {
    const key = String(error.pointer || '').split('/')[2];
    if (key) errors[key.replace(/~1/g, '/').replace(/~0/g, '~')] ??= error.message;
  }
  return errors;
}

function parseNumber(text, integer) {
  if (text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : (integer ? NaN : NaN);
}

function scalarInput(spec, id, value, onInput, disabled, describedBy) {
  const common = { id, disabled, 'aria-describedby': describedBy, name: id };
  switch (spec.type) {
    case 'number':
    case 'integer':
      return h('input', {
        ...common, type: 'number', inputmode: spec.type === 'integer' ? 'numeric' : 'decimal',
        step: spec.type === 'integer' ? '1' : 'any', min: spec.min ?? undefined, max: spec.max ?? undefined,
        value: value ?? '', oninput: (e) => onInput(parseNumber(e.target.value, spec.type === 'integer')),
      });
    case 'date':
      return h('input', { ...common, type: 'date', value: value ?? '', oninput: (e) => onInput(e.target.value || null) });
    case 'boolean':
      return h('select', { ...common, onchange: (e) => onInput(e.target.value === '' ? null : e.target.value === 'true') },
        h('option', { value: '' }, '—'),
        h('option', { value: 'true', selected: value === true }, t('yes')),
        h('option', { value: 'false', selected: value === false }, t('no')));
    case 'choice':
      return h('select', { ...common, onchange: (e) => onInput(e.target.value || null) },
        h('option', { value: '' }, '—'),
        (spec.options || []).map((o) => h('option', { value: o.value, selected: value === o.value }, pick(o.label))));
    case 'textarea':
      return h('textarea', { ...common, maxlength: spec.max_length || DEFAULT_MAX_LENGTH.textarea, oninput: (e) => onInput(e.target.value) }, value ?? '');
    default:
      return h('input', { ...common, type: 'text', maxlength: spec.max_length || DEFAULT_MAX_LENGTH.text, value: value ?? '', oninput: (e) => onInput(e.target.value) });
  }
}

/**
 * renderForm(container, form, answers, {onChange, disabled}) → {collect, showErrors}.
 * onChange(answers) fires on every edit with the answers as they would be sent.
 */
export function renderForm(container, form, initial, { onChange = () => {}, disabled = false } = {}) {
  const fields = form?.fields || [];
  const values = { ...(initial || {}) };
  const nodes = {};

  const collect = () => {
    const shown = visibility(fields, values);
    const answers = {};
    for (const field of fields) {
      if (!shown[field.key]) continue;
      let value = values[field.key];
      if (typeof value === 'string') value = value.trim();
      if (field.type === 'string_list' && Array.isArray(value)) value = value.map((s) => s.trim()).filter(Boolean);
      if (field.type === 'table' && Array.isArray(value)) {
        value = value.filter((row) => Object.values(row).some((cell) => !isBlank(cell)));
      }
      if (!isBlank(value)) answers[field.key] = value;
    }
    return answers;
  };

  const refreshVisibility = () => {
    const shown = visibility(fields, values);
    for (const field of fields) nodes[field.key].hidden = !shown[field.key];
  };

  const changed = (key, value) => {
    values[key] = value;
    nodes[key].classList.remove('invalid');
    nodes[key].querySelector('.error-text').textContent = '';
    refreshVisibility();
    onChange(collect());
  };

  for (const field of fields) {
    const id = `f-${field.key}`;
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    const label = [pick(field.label), field.required ? h('span', { class: 'required-mark', 'aria-label': t('required') }, '*') : null];
    const help = field.help && pick(field.help) ? h('p', { class: 'help', id: helpId }, pick(field.help)) : null;
    const error = h('p', { class: 'error-text', id: errorId, role: 'alert' });
    const described = [help ? helpId : null, errorId].filter(Boolean).join(' ');
    let control;
    if (field.type === 'multi_choice') {
      const chosen = new Set(values[field.key] || []);
      const boxes = [];
      control = h('fieldset', { 'aria-describedby': described },
        h('legend', {}, label),
        help,
        (field.options || []).map((o) => {
          const box = h('input', {
            type: 'checkbox', value: o.value, checked: chosen.has(o.value), disabled,
            dataset: o.exclusive ? { exclusive: 'true' } : {},
            onchange: (e) => {
              if (e.target.checked) {
                // An exclusive option ("没有") stands alone: ticking it clears the others,
                // ticking another clears it (DESIGN §5; the server refuses the mix).
                for (const other of field.options || []) {
                  if (other.value !== o.value && (o.exclusive || other.exclusive)) chosen.delete(other.value);
                }
                chosen.add(o.value);
              } else chosen.delete(o.value);
              for (const each of boxes) each.checked = chosen.has(each.value);
              changed(field.key, (field.options || []).map((x) => x.value).filter((v) => chosen.has(v)));
            },
          });
          boxes.push(box);
          return h('label', { class: 'inline' }, box, pick(o.label));
        }));
    } else if (field.type === 'choice' && (field.options || []).length <= RADIO_LIMIT) {
      control = h('fieldset', { 'aria-describedby': described },
        h('legend', {}, label),
        help,
        (field.options || []).map((o) => h('label', { class: 'inline' },
          h('input', { type: 'radio', name: id, value: o.value, checked: values[field.key] === o.value, disabled, onchange: () => changed(field.key, o.value) }),
          pick(o.label))));
    } else if (field.type === 'string_list') {
      const text = (values[field.key] || []).join('\n');
      control = [h('label', { for: id }, label), help,
        h('textarea', { id, disabled, 'aria-describedby': described, oninput: (e) => changed(field.key, e.target.value.split('\n')) }, text)];
    } else if (field.type === 'table') {
      control = tableControl(field, values[field.key] || [], (rows) => changed(field.key, rows), disabled, label, help);
    } else {
      control = [h('label', { for: id }, label), help,
        scalarInput(field, id, values[field.key], (v) => changed(field.key, v), disabled, described)];
    }
    nodes[field.key] = h('div', { class: 'field', id: `field-${field.key}`, dataset: { key: field.key } }, control, error);
    container.append(nodes[field.key]);
  }
  refreshVisibility();

  const showErrors = (errors) => {
    for (const field of fields) {
      const message = errors[field.key] || '';
      nodes[field.key].classList.toggle('invalid', Boolean(message));
      nodes[field.key].querySelector('.error-text').textContent = message;
    }
  };
  return { collect, showErrors, validate: () => validate(fields, collect()) };
}

function tableControl(field, initialRows, onRows, disabled, label, help) {
  const rows = initialRows.map((row) => ({ ...row }));
  const body = h('div', {});
  const draw = () => {
    body.replaceChildren(...rows.map((row, index) => h('div', { class: 'table-row' },
      (field.columns || []).map((column) => {
        const id = `f-${field.key}-${index}-${column.key}`;
        return h('div', {}, h('label', { for: id, class: 'muted' }, pick(column.label)),
          scalarInput(column, id, row[column.key], (v) => { row[column.key] = v; onRows(rows); }, disabled));
      }),
      h('button', { type: 'button', class: 'danger', disabled, 'aria-label': t('remove_row'), onclick: () => { rows.splice(index, 1); draw(); onRows(rows); } }, '×'))));
  };
  draw();
  return h('fieldset', {}, h('legend', {}, label), help, body,
    h('button', { type: 'button', disabled, onclick: () => { rows.push({}); draw(); onRows(rows); } }, t('add_row')));
}
