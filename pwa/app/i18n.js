// zh-CN and English. The browser's language picks the default; the switch in the top bar
// overrides it and is remembered. Strings are [zh, en]; {name} placeholders are filled by t().
const KEY = 'doorstep.lang';

const S = {
  app_name: ['Doorstep 门店拜访', 'Doorstep store visits'],
  tagline: ['扫门头码签到，拍照、填表、定下一步。', 'Scan the door code, take the photos, fill the form, commit to a next step.'],
  sign_in: ['登录', 'Sign in'], username: ['用户名', 'Username'], password: ['密码', 'Password'],
  login_failed: ['用户名或密码不正确', 'Wrong username or password'],
  login_offline: ['登录需要网络。连上网络后再试。', 'Signing in needs the network. Try again once you are online.'],
  signed_in_as: ['当前登录：{name}', 'Signed in as {name}'],
  signed_out_keep: ['登录已过期，请重新登录；未同步的数据都还在手机上。', 'Your sign-in expired. Sign in again; nothing waiting to sync is lost.'],
  error: ['出错了', 'Something went wrong'], loading: ['加载中…', 'Loading…'],
  yes: ['是', 'Yes'], no: ['否', 'No'], required: ['必填', 'required'], continue: ['继续', 'Continue'],
  tab_today: ['今日', 'Today'], tab_scan: ['扫码', 'Scan'], tab_outbox: ['待同步', 'Outbox'],
  tab_review: ['审批', 'Review'], tab_board: ['看板', 'Board'],
  pending_count: ['{n} 项待同步', '{n} waiting to sync'],
  status_offline: ['离线', 'Offline'], status_synced: ['已同步', 'All synced'],
  status_pending: ['{n} 项待同步', '{n} to sync'], status_attention: ['{n} 项需处理', '{n} need attention'],
  update_ready: ['新版本可用，刷新', 'A new version is ready — refresh'], refresh: ['刷新', 'Refresh'],
  quota_exceeded: ['手机存储空间不足，新的照片或记录无法保存。请清理空间或先联网同步。', 'The phone is out of storage: new photos or records cannot be saved. Free some space or get online to sync.'],
  storage_error: ['无法保存到手机：', 'Could not save on the phone:'],
  today: ['今日', 'Today'], open_visit: ['进行中的拜访', 'Open visit'],
  no_open_visit: ['当前没有进行中的拜访。', 'No visit in progress.'], scan_to_check_in: ['扫码签到', 'Scan to check in'],
  my_next_actions: ['我的下一步行动', 'My next actions'], no_actions: ['没有待办的下一步行动。', 'No open next actions.'],
  rework_requests: ['退回待修改', 'Rework requests'], rework_reason: ['退回原因：{reason}', 'Sent back: {reason}'],
  recent_visits: ['最近拜访', 'Recent visits'], offline_no_cache: ['离线中，暂无缓存数据。', 'Offline, nothing cached yet.'],
  attention_items: ['{n} 项需要你处理 →', '{n} items need your attention →'], unknown_store: ['门店', 'Store'],
  n_days: ['{n} 天', '{n} d'], n_hours: ['{n} 小时', '{n} h'], n_minutes: ['{n} 分钟', '{n} min'],
  due_in: ['剩 {span}', 'due in {span}'], overdue_by: ['已逾期 {span}', '{span} overdue'],
  visit_open: ['进行中', 'Open'], visit_submitted: ['待审批', 'Awaiting review'], visit_approved: ['已通过', 'Approved'],
  visit_rejected: ['退回修改', 'Sent back'], visit_abandoned: ['已放弃', 'Abandoned'],
  status_submit_queued: ['已提交，待同步', 'Submitted, waiting to sync'],
  scan: ['扫码', 'Scan'], scan_title: ['扫描门头二维码', 'Scan the door QR code'],
  camera_view: ['相机取景', 'Camera view'], start_camera: ['打开相机', 'Open the camera'],
  point_at_code: ['对准门头上的二维码', 'Point at the QR code on the door'],
  not_a_door_code: ['这不是 Doorstep 门头码', 'That is not a Doorstep door code'],
  camera_failed: ['无法打开相机：{reason}', 'Could not open the camera: {reason}'],
  camera_starting: ['正在打开相机…', 'Opening the camera…'],
  torch: ['手电筒', 'Torch'],
  camera_refused: ['Doorstep 没有相机权限。请在浏览器的网站设置里允许使用相机，再点“打开相机”；也可以在下面输入门头码。', 'Doorstep may not use the camera. Allow the camera for this site in the browser settings, then tap “Open the camera” — or type the door code below.'],
  camera_absent: ['这台设备上没有可用的相机。请在下面输入门头码。', 'No camera is available on this device. Type the door code below.'],
  camera_busy: ['相机正被其他应用占用。关掉那个应用后再点“打开相机”，或在下面输入门头码。', 'Another app is using the camera. Close it and tap “Open the camera” — or type the door code below.'],
  camera_needs_https: ['相机只能在 https 地址下使用。请在下面输入门头码，并请管理员启用 https。', 'The camera works only over https. Type the door code below, and ask your admin to enable https.'],
  scanner_unavailable: ['扫码组件没能加载（需要先联网打开一次 Doorstep）。请在下面输入门头码。', 'The scanner could not be loaded (open Doorstep online once first). Type the door code below.'],
  paste_link: ['或输入二维码下方印的链接', 'Or type the link printed under the code'], scan_again: ['重新扫码', 'Scan again'],
  check_in: ['签到', 'Check in'], store_not_cached: ['门店（联网后显示名称）', 'Store (name shows once online)'],
  the_store: ['门店', 'the store'],
  already_open: ['你在「{store}」还有一个进行中的拜访。先继续完成它，或写明原因后放弃，再在这里签到。', 'You still have an open visit at {store}. Continue it, or abandon it with a reason, then check in here.'],
  already_open_server: ['服务器上你还有一个进行中的拜访。', 'The server has another open visit of yours.'],
  continue_visit: ['继续那次拜访', 'Continue that visit'], abandon_that_visit: ['放弃那次拜访', 'Abandon that visit'],
  locating: ['正在定位…', 'Finding your position…'], waiting_fix: ['正在等待更精确的定位…', 'Waiting for a better fix…'],
  accuracy: ['定位精度', 'Accuracy'], fix_good: ['良好', 'good'], fix_fair: ['一般', 'fair'], fix_poor: ['较差，建议等待', 'poor — wait for a better fix'],
  distance_to_store: ['距离门店约 {distance} 米（签到范围 {radius} 米）', 'About {distance} m from the store (check-in circle {radius} m)'],
  inside_fence: ['在签到范围内', 'Inside the check-in circle'],
  outside_fence_hint: ['可能在签到范围外，请走到门口', 'Probably outside the circle — walk to the door'],
  check_in_here: ['在此签到', 'Check in here'], wait_better_fix: ['等待更精确的定位', 'Wait for a better fix'],
  location_denied: ['没有定位权限。请在浏览器设置里允许 Doorstep 使用位置。', 'Location is blocked. Allow Doorstep to use your location in the browser settings.'],
  location_failed: ['暂时拿不到定位。到室外或窗边再试。', 'No position yet. Step outside or near a window and try again.'],
  checked_in_offline: ['已离线签到，联网后自动同步', 'Checked in offline; it syncs when you are back online'],
  checked_in_queued: ['已签到', 'Checked in'],
  outside_title: ['签到失败：不在门店范围内', 'Check-in refused: not at the store'],
  outside_body: ['你离「{store}」约 {distance} 米。签到范围是 {radius} 米；手机定位误差 ±{accuracy} 米已经替你扣除，按 {effective} 米计算，仍在范围外。', 'You are about {distance} m from {store}. The check-in circle is {radius} m; your GPS error of ±{accuracy} m was taken off in your favour, which still leaves {effective} m — outside the circle.'],
  outside_advice: ['请走到门店门口再签到。如果定位不准，到室外等几秒，点「等待更精确的定位」后重试。', "Walk to the store's door and check in again. If the position is poor, step outside, tap “Wait for a better fix” and try again."],
  invalid_qr: ['这个门头码无效或已更换。请扫描门上最新的二维码，或联系主管。', 'This door code is not valid (or was replaced). Scan the current code on the door, or ask your supervisor.'],
  visit: ['拜访', 'Visit'], visit_not_found: ['找不到这次拜访。', 'This visit was not found.'],
  checked_in_at: ['签到于 {time}', 'Checked in {time}'],
  rework_title: ['主管退回，请修改后重新提交', 'Sent back by your supervisor: amend and resubmit'],
  photos: ['照片（{n} 张必拍）', 'Photos ({n} required)'],
  photo_storefront: ['门头照', 'Storefront'], photo_shelf: ['陈列照', 'Shelf display'], photo_conversation: ['沟通场景照', 'Conversation'],
  photo_take: ['点此拍照', 'Tap to take'], photo_uploaded: ['已上传', 'Uploaded'], photo_queued: ['待上传 {size}', 'Queued {size}'],
  photo_failed: ['照片处理失败：{reason}', 'Could not process the photo: {reason}'],
  visit_form: ['拜访表单', 'Visit form'], form_after_sync: ['联网同步后显示表单。', 'The form appears once the visit has synced.'],
  add_row: ['添加一行', 'Add a row'], remove_row: ['删除这一行', 'Remove this row'],
  err_required: ['必填', 'Required'], err_number: ['请输入数字', 'Enter a number'], err_integer: ['请输入整数', 'Enter a whole number'],
  err_min: ['不能小于 {min}', 'At least {min}'], err_max: ['不能大于 {max}', 'At most {max}'],
  err_too_long: ['最多 {max} 个字', 'At most {max} characters'], err_too_many: ['最多 {max} 项', 'At most {max} items'],
  err_exclusive: ['选了「{option}」就不能再选其他项', '“{option}” cannot be combined with other choices'],
  next_action: ['下一步行动', 'Next action'], next_action_help: ['{n} 天内必须完成，会变成倒计时。', 'Due within {n} days; it becomes a countdown.'],
  action_type: ['行动类型', 'Type'], action_due: ['截止时间', 'Due'], action_note: ['备注', 'Note'],
  in_days: ['{n} 天后', 'In {n} d'],
  due_out_of_range: ['截止时间须晚于现在，且不晚于 {latest}', 'The due time must be after now and no later than {latest}'],
  // The next-action types' names come from the server with the types (GET /api/v1/config).
  policy_missing: ['这台手机还没有从服务器取得拜访规则（照片、下一步行动）。联网打开一次 Doorstep 即可。', 'This phone has not loaded the visit rules (photos, next action) from the server yet. Open Doorstep online once.'],
  submit: ['提交拜访', 'Submit visit'], resubmit: ['重新提交', 'Resubmit'],
  missing_title: ['还差这些才能提交：', 'Still missing before you can submit:'],
  missing_photo_storefront: ['门头照', 'Storefront photo'], missing_photo_shelf: ['陈列照', 'Shelf display photo'],
  missing_photo_conversation: ['沟通场景照', 'Conversation photo'], missing_answers: ['拜访表单', 'The visit form'],
  missing_next_action: ['下一步行动', 'The next action'], missing_field: ['表单：{field}', 'Form: {field}'],
  submitted: ['已提交', 'Submitted'], submit_queued: ['已提交，联网后自动同步', 'Submitted; it syncs when you are back online'],
  abandon_visit: ['放弃这次拜访', 'Abandon this visit'], abandon_reason: ['放弃原因（必填）', 'Reason (required)'],
  abandon_confirm: ['确认放弃', 'Abandon'], abandoned: ['已放弃拜访', 'Visit abandoned'],
  visit_waiting: ['{n} 项待同步', '{n} changes waiting to sync'], visit_synced: ['已全部同步', 'Everything is synced'],
  open_outbox: ['查看待同步', 'Open the outbox'],
  summary: ['拜访小结', 'Visit summary'], time: ['时间', 'Time'], duration: ['时长', 'Duration'], distance: ['签到距离', 'Check-in distance'],
  trust_score: ['可信分', 'Trust score'],
  summary_waiting: ['已在手机上提交，还有 {n} 项待同步；同步后生成小结卡片。', 'Submitted on the phone; {n} items still to sync. The card is made once they arrive.'],
  summary_not_ready: ['小结尚未生成。', 'The summary is not ready yet.'],
  do_rework: ['去修改', 'Amend the visit'], share: ['分享小结', 'Share the summary'], share_link: ['分享链接：', 'Link:'],
  link_copied: ['链接已复制', 'Link copied'], link_expires: ['{time} 过期', 'Expires {time}'],
  share_offline: ['分享需要网络', 'Sharing needs the network'], back_today: ['回到今日', 'Back to Today'],
  outbox: ['待同步', 'Outbox'], retry_now: ['立即重试', 'Retry now'], retry: ['重试', 'Retry'], discard: ['丢弃', 'Discard'],
  outbox_empty: ['全部已同步，没有待发送的内容。', 'Everything is synced; nothing is waiting.'],
  needs_attention: ['需处理', 'Needs attention'], waiting: ['等待发送', 'Waiting'], attempts: ['已尝试 {n} 次', '{n} tries'],
  last_error: ['上次错误', 'Last error'], open_visit_button: ['打开拜访', 'Open visit'],
  discard_confirm: ['丢弃后这条记录不会再发送，确定吗？', 'Discarded items are never sent. Discard it?'],
  storage_used: ['本机已用 {used} / 可用 {quota}', 'Using {used} of {quota} on this phone'], storage_persisted: ['已申请持久存储', 'Persistent storage granted'],
  item_check_in: ['签到', 'Check-in'], item_photo: ['照片', 'Photo'], item_answers: ['表单', 'Form answers'],
  item_next_action: ['下一步行动', 'Next action'], item_submit: ['提交', 'Submit'], item_abandon: ['放弃拜访', 'Abandon'],
  item_complete_action: ['完成行动', 'Complete action'],
  code_network: ['网络不通，稍后自动重试', 'No network; retrying automatically'],
  code_client_error: ['应用出错，没能发送（{detail}）。请重试；仍不行请联系管理员。', 'The app failed to send this ({detail}). Retry; if it fails again, tell your admin.'],
  code_invalid_qr: ['门头码无效或已更换', 'The door code is not valid or was replaced'],
  code_outside_geofence: ['签到时不在门店范围内', 'Checked in outside the store circle'],
  code_visit_already_open: ['还有另一个进行中的拜访', 'Another visit is still open'],
  code_visit_not_open: ['这次拜访已不可修改', 'This visit can no longer be changed'],
  code_visit_incomplete: ['资料不全，不能提交', 'Incomplete: cannot be submitted yet'],
  code_invalid_form: ['表单有需要修改的地方', 'Some form answers need fixing'],
  code_invalid_photo: ['照片无法识别，请重拍', 'The photo could not be read; take it again'],
  code_photo_too_large: ['照片太大，请重拍', 'The photo is too large; take it again'],
  code_action_due_out_of_range: ['下一步行动的截止时间不在允许范围内，请重新选择', 'The next action is due outside the allowed window; pick another time'],
  code_conflict: ['与服务器上的记录冲突', 'Conflicts with what the server has'],
  code_not_found: ['服务器上找不到', 'Not found on the server'], code_forbidden: ['没有权限', 'Not allowed'],
  review: ['审批', 'Review'], review_queue: ['待审批', 'Approval queue'], queue_empty: ['没有待审批的拜访。', 'Nothing to review.'],
  review_offline: ['审批需要网络', 'Reviewing needs the network'], trust_n: ['可信分 {n}', 'Trust {n}'],
  check_in_distance: ['签到距离 {distance} 米（精度 ±{accuracy} 米）', 'Checked in {distance} m away (±{accuracy} m)'],
  // Metres read 米 in Chinese and m in English everywhere (the server's card and page do the same).
  distance_value: ['{distance} 米（精度 ±{accuracy} 米）', '{distance} m (±{accuracy} m)'], accuracy_value: ['±{accuracy} 米', '±{accuracy} m'],
  review_comment: ['意见（退回时必填）', 'Comment (required to reject)'], reason_required: ['退回必须写明原因', 'A reason is required to reject'],
  approve: ['通过', 'Approve'], reject: ['退回', 'Reject'], approved_toast: ['已通过', 'Approved'], rejected_toast: ['已退回给业务员', 'Sent back to the rep'],
  flag_outside_geofence: ['范围外签到', 'Outside geofence'], flag_low_accuracy: ['定位精度低', 'Low accuracy'],
  flag_clock_skew: ['手机时间不准', 'Clock skew'], flag_future_timestamp: ['时间在未来', 'Future timestamp'],
  flag_impossible_travel: ['移动速度异常', 'Impossible travel'], flag_duplicate_photo: ['重复照片', 'Duplicate photo'],
  flag_short_visit: ['拜访时间过短', 'Short visit'], flag_repeat_same_day: ['同日重复拜访', 'Repeat same day'],
  flag_queued_offline: ['离线签到', 'Queued offline'],
  team_board: ['团队行动看板', 'Team board'], overdue_n: ['已逾期（{n}）', 'Overdue ({n})'], open_n: ['进行中（{n}）', 'Open ({n})'],
  rescheduled_n: ['已改期 {n} 次', 'Rescheduled {n}×'],
  action_done: ['完成', 'Done'], action_reschedule: ['改期', 'Reschedule'],
  action_done_for: ['完成：{what}', 'Done: {what}'], action_reschedule_for: ['改期：{what}', 'Reschedule: {what}'],
  completion_note: ['完成备注（可选）', 'Note (optional)'], confirm_done: ['确认完成', 'Mark as done'],
  new_due: ['新的截止时间（{n} 天内）', 'New due time (within {n} days)'], new_due_any: ['新的截止时间', 'New due time'],
  due_in_past: ['截止时间须晚于现在', 'The due time must be after now'], reschedule_reason: ['改期原因（必填）', 'Reason (required)'],
  confirm_reschedule: ['确认改期', 'Reschedule'], cancel: ['取消', 'Cancel'],
  reason_missing: ['请写明改期原因', 'Please give a reason for the new date'],
  action_completed: ['已完成', 'Marked as done'], action_complete_queued: ['已完成，联网后自动同步', 'Done; it syncs when you are back online'],
  action_rescheduled: ['已改期', 'Rescheduled'],
  code_action_not_open: ['这项行动已完成或已关闭', 'This action is already done or closed'],
  tab_inbox: ['消息', 'Inbox'], inbox: ['消息', 'Inbox'], unread_count: ['{n} 条未读', '{n} unread'],
  unread: ['未读', 'Unread'], inbox_empty: ['没有消息。', 'No messages.'],
  inbox_offline: ['离线中，显示的是上次同步的消息。', 'Offline: showing the messages from the last sync.'],
  // Roles, the account menu, sign-out, not found, the admin placeholder, door links.
  tab_console: ['控制台', 'Console'], account_menu: ['账户菜单', 'Account menu'],
  role_rep: ['业务员', 'Rep'], role_supervisor: ['主管', 'Supervisor'], role_admin: ['管理员', 'Admin'],
  sign_out: ['退出登录', 'Sign out'], sign_out_title: ['还有内容没有同步', 'Some changes have not synced'],
  sign_out_lose: ['还有 {n} 项没有发到服务器。现在退出，这些内容会从手机上删除，无法找回。', 'Not yet sent to the server: {n}. Signing out now deletes them from this phone for good.'],
  sign_out_advice: ['建议先联网，等「待同步」清空后再退出。', 'Better: get online and wait until the outbox is empty, then sign out.'],
  sign_out_anyway: ['仍然退出并删除', 'Sign out and delete them'],
  not_found_title: ['找不到这个页面', 'Page not found'],
  not_found_body: ['Doorstep 里没有「{path}」这个页面，或者你的账号不能打开它。', 'Doorstep has no page at “{path}”, or your account cannot open it.'],
  go_home: ['回到首页', 'Go to the home screen'],
  console_title: ['管理控制台即将上线', 'Admin console coming soon'],
  console_body: ['用户、团队、门店、表单、二维码海报、API 密钥和 Webhook 的管理页面正在开发中。在此之前，可以通过 API 完成这些操作：', 'Managing users, teams, stores, forms, QR posters, API keys and webhooks is on its way. Until then, all of it can be done through the API:'],
  console_docs: ['API 文档（Swagger UI，/docs）', 'API documentation (Swagger UI, /docs)'],
  console_redoc: ['API 参考（ReDoc，/redoc）', 'API reference (ReDoc, /redoc)'],
  console_meanwhile: ['审批和团队行动看板现在就能用：', 'Reviews and the team board work already:'],
  door_link_title: ['请在 Doorstep 应用里扫码', 'Open this in the Doorstep app'],
  door_link_body: ['这是门店的门头码。你是在微信或浏览器里打开的，这里没有你的登录和离线数据，签到要在 Doorstep 应用里完成。', "This is a store's door code. It opened in WeChat or a browser, which has neither your sign-in nor your offline data: check in from the Doorstep app."],
  door_link_step_1: ['打开手机主屏幕上的 Doorstep，点「扫码」，再扫一次门上的二维码。', 'Open Doorstep from the home screen, tap Scan and scan the code on the door again.'],
  door_link_step_2: ['或者复制链接，粘贴到 Doorstep「扫码」页下方的输入框。', 'Or copy the link and paste it into the box on the Scan screen in Doorstep.'],
  copy_link: ['复制链接', 'Copy the link'], door_link_field: ['门头码链接', 'Door code link'],
  door_link_select: ['长按下面的链接，选择「复制」：', 'Press and hold the link below, then choose Copy:'],
  door_link_sign_in_here: ['已经在 Doorstep 应用里？登录后会继续签到：', 'Already in the Doorstep app? Sign in to go on to check-in:'],
  door_code: ['门头码', 'Door code'],
  door_code_manager: ['签到只对业务员开放。主管的巡店（用同一个门头码开始）即将上线。', 'Check-in is for reps. Audit tours, started from this same door code, are coming soon for supervisors.'],
  read_only_visit: ['只读：拜访由业务员本人修改和提交。', 'Read-only: the rep amends and submits their own visit.'],
  label_colon: ['：', ': '],
  abandon_visit_button: ['放弃这次拜访…', 'Abandon this visit…'],
  abandon_reason_required: ['请写明放弃的原因', 'Please give a reason for abandoning'],
  abandon_confirm_title: ['确定放弃「{store}」的这次拜访？', 'Abandon this visit at {store}?'],
  abandon_confirm_body: ['放弃后不能再拍照、填表或提交；这次拜访会以「已放弃」留在记录里，主管可以看到。', 'You cannot add photos, answers or submit it afterwards; it stays on record as abandoned, and your supervisor sees it.'],
  abandon_reason_is: ['原因：{reason}', 'Reason: {reason}'], abandon_keep: ['不放弃', 'Keep the visit'],
  action_reschedule_queued: ['已改期，联网后自动同步', 'Rescheduled; it syncs when you are back online'],
  item_reschedule_action: ['行动改期', 'Reschedule action'],
};

function browserLang() {
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language || 'zh-CN'];
  for (const l of langs) {
    if (/^zh\b/i.test(l)) return 'zh';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'zh';
}

let current = localStorage.getItem(KEY) || browserLang();

export const lang = () => current;

export function t(key, params = {}) {
  const entry = S[key];
  let text = entry ? entry[current === 'zh' ? 0 : 1] : (params.fallback ?? key);
  for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** A {zh, en} label from the server, in the current language (falling back to the other). */
export function pick(label) {
  if (label == null) return '';
  if (typeof label !== 'object') return String(label);
  return current === 'zh' ? (label.zh || label.en || '') : (label.en || label.zh || '');
}

export function applyLanguage() {
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  const button = document.getElementById('lang-switch');
  if (button) {
    button.textContent = current === 'zh' ? 'EN' : '中文';
    button.setAttribute('aria-label', current === 'zh' ? 'Switch to English' : '切换到中文');
  }
}

export function toggleLanguage() {
  current = current === 'zh' ? 'en' : 'zh';
  localStorage.setItem(KEY, current);
  applyLanguage();
}
