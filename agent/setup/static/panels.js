// @ts-check
/** The read-mostly panels: the sharing policy, pending approvals (approve / decline), the audit log. */
import { api, h } from './app.js';

const POLICY_TEXT = {
  auto: 'Footage inside a signed incident area and window is shared automatically.',
  approve: 'Each incident request waits here until you approve or decline it.',
  never: 'No footage is shared; requests are declined and recorded in the audit log.',
};

/** @param {HTMLElement} el @param {any} site */
export function renderPolicy(el, site) {
  el.replaceChildren();
  if (!site) return el.append('This device is not enrolled.');
  el.append(
    h('div', { class: 'policy-word', 'data-policy': site.policy }, [site.policy]),
    h('p', {}, [POLICY_TEXT[site.policy] ?? '']),
    h('p', { class: 'muted' }, [
      'Set at enrollment for the site; to change it, re-enroll the device with a new code from the RTCC.',
    ]),
  );
}

const when = (ms) => new Date(ms).toLocaleString();

/** @param {HTMLElement} el */
export async function renderApprovals(el) {
  const list = await api('/api/approvals');
  el.replaceChildren();
  if (list.length === 0) return el.append(h('p', { class: 'muted' }, ['Nothing is waiting.']));
  for (const a of list) {
    const decide = (decision) => async () => {
      await api(`/api/approvals/${a.incidentId}`, { cameraId: null, decision });
      el.replaceChildren(
        h('p', {}, [`${decision === 'approve' ? 'Approved' : 'Declined'}: case ${a.caseNumber}`]),
      );
      // The agent applies the decision within a moment; the list and audit log follow.
      setTimeout(() => void import('./app.js').then((m) => m.refresh()), 1500);
    };
    const approve = h('button', { class: 'primary', 'data-action': 'approve' }, ['Approve']);
    const decline = h('button', { class: 'danger', 'data-action': 'decline' }, ['Decline']);
    approve.addEventListener('click', decide('approve'));
    decline.addEventListener('click', decide('decline'));
    const cams = a.cameras
      .map(
        (c) =>
          `${c.cameraId}${c.covered ? '' : ' (no footage in the window)'}${c.gaps ? `, ${c.gaps} gap(s)` : ''}`,
      )
      .join('; ');
    el.append(
      h('div', { class: 'approval', 'data-incident': a.incidentId }, [
        h('strong', {}, [`Case ${a.caseNumber}: ${a.reason}`]),
        h('span', {}, [`Requested by ${a.issuer} · ${when(a.from)} to ${when(a.to)}`]),
        h('span', {}, [`Cameras: ${cams}`]),
        h('span', { class: 'muted' }, [
          a.decideBy ? `Decide by ${when(a.decideBy)}, or it counts as declined.` : '',
        ]),
        h('div', { class: 'actions' }, [approve, decline]),
      ]),
    );
  }
}

/** @param {HTMLElement} checkEl @param {HTMLElement} table */
export async function renderAudit(checkEl, table) {
  const audit = await api('/api/audit');
  checkEl.replaceChildren(
    audit.check.ok
      ? h('p', { class: 'ok', 'data-chain': 'valid' }, [
          `Hash chain valid: ${audit.check.entries} entries, none altered or missing.`,
        ])
      : h('p', { class: 'bad', 'data-chain': 'broken' }, [
          `Hash chain BROKEN at line ${audit.check.problem?.line}: ${audit.check.problem?.reason}`,
        ]),
  );
  const tbody = /** @type {HTMLElement} */ (table.querySelector('tbody'));
  tbody.replaceChildren();
  for (const e of audit.entries) {
    if (!('seq' in e)) {
      tbody.append(
        h('tr', {}, [
          h('td', {}, [String(e.line)]),
          h('td', {}, []),
          h('td', { class: 'bad' }, ['unreadable']),
          h('td', {}, []),
        ]),
      );
      continue;
    }
    const details = Object.entries(e.data)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    tbody.append(
      h('tr', { 'data-event': e.event }, [
        h('td', {}, [String(e.seq)]),
        h('td', {}, [when(e.at)]),
        h('td', {}, [e.event]),
        h('td', {}, [h('code', {}, [details.slice(0, 300)])]),
      ]),
    );
  }
}
