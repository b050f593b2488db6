// The console's words in Traditional Chinese (the default) and English. Keys name what the words
// are for; `t(key, values)` fills `{name}` placeholders.

export const LANGS = ["zh-TW", "en"];

const WORDS = {
  "zh-TW": {
    brand: "幸福氣 派車",
    loading: "載入中…",
    signIn: "登入",
    signOut: "登出",
    email: "電子郵件",
    password: "密碼",
    signInFailed: "登入失敗：{reason}",
    sessionEnded: "登入已逾時，請重新登入。",
    offlineNow: "目前離線",
    day: "配送日",
    orders: "訂單",
    ordersOfDay: "{date} 的訂單（{count} 筆）",
    noOrders: "這一天沒有訂單。",
    customer: "客戶",
    phone: "電話",
    address: "地址",
    cylinders: "鋼瓶",
    window: "時段",
    priority: "優先",
    status: "狀態",
    actions: "動作",
    cancel: "取消訂單",
    confirmCancel: "確定要取消 {customer} 的訂單嗎？",
    cancelled: "已取消 {customer} 的訂單。",
    search: "搜尋客戶、電話、地址",
    shown: "顯示 {shown} / {count} 筆",
    urgent: "急件",
    normal: "一般",
    anytime: "全天",
    morning: "上午",
    afternoon: "下午",
    evening: "晚上",
    "status.received": "已接單",
    "status.planned": "已排程",
    "status.dispatched": "配送中",
    "status.delivered": "已送達",
    "status.failed": "未送達",
    "status.cancelled": "已取消",
    error: "發生錯誤：{reason}",
    retry: "重試",
    kg: "{size} 公斤 × {quantity}",
    map: "配送地圖",
    planOf: "排程 #{id}",
    noPlan: "這一天尚未排程",
    planDay: "排程",
    planning: "排程中…",
    searchTime: "搜尋時間",
    seconds: "{n} 秒",
    progress: "{s} 秒，目前成本 NT${cost}",
    planCost: "{routes} 條路線，營運成本 NT${cost}",
    routeSummary: "{stops} 站，{km} 公里，{start}–{end}",
    unassigned: "未排入的訂單（{n}）",
    deliverN: "送 {size} 公斤 × {n}",
    collectN: "收空瓶 {size} 公斤 × {n}",
    arrival: "預計抵達",
    vehicle: "車輛",
    close: "關閉",
    attribution: "行政區界：g0v twgeojson，內政部國土測繪中心開放資料",
    timeline: "各車時間軸",
    depart: "出車",
    reload: "回站補貨",
    "reason.no_compatible_vehicle": "沒有能進入的車種（巷弄、限重）",
    "reason.capacity": "超過每台可用車輛的載重",
    "reason.time_window_unreachable": "時段內到不了",
    "reason.shift_limits": "超出班表、工時或里程上限",
    "reason.not_worth_prize": "不值得出車",
    "reason.no_feasible_route": "找不到可行的路線（時段、載重或工時）",
  },
  en: {
    brand: "LuckyGas dispatch",
    loading: "Loading…",
    signIn: "Sign in",
    signOut: "Sign out",
    email: "Email",
    password: "Password",
    signInFailed: "Sign-in failed: {reason}",
    sessionEnded: "Your session has ended; please sign in again.",
    offlineNow: "Offline",
    day: "Delivery day",
    orders: "Orders",
    ordersOfDay: "Orders of {date} ({count})",
    noOrders: "No orders on this day.",
    customer: "Customer",
    phone: "Phone",
    address: "Address",
    cylinders: "Cylinders",
    window: "Window",
    priority: "Priority",
    status: "Status",
    actions: "Actions",
    cancel: "Cancel order",
    confirmCancel: "Cancel the order of {customer}?",
    cancelled: "The order of {customer} is cancelled.",
    search: "Search customer, phone, address",
    shown: "{shown} of {count} shown",
    urgent: "Urgent",
    normal: "Normal",
    anytime: "Any time",
    morning: "Morning",
    afternoon: "Afternoon",
    evening: "Evening",
    "status.received": "Received",
    "status.planned": "Planned",
    "status.dispatched": "Out for delivery",
    "status.delivered": "Delivered",
    "status.failed": "Failed",
    "status.cancelled": "Cancelled",
    error: "Something went wrong: {reason}",
    retry: "Retry",
    kg: "{size} kg × {quantity}",
    map: "Delivery map",
    planOf: "Plan #{id}",
    noPlan: "No plan for this day yet",
    planDay: "Plan the day",
    planning: "Planning…",
    searchTime: "Search time",
    seconds: "{n} s",
    progress: "{s} s, cost so far NT${cost}",
    planCost: "{routes} routes, operating cost NT${cost}",
    routeSummary: "{stops} stops, {km} km, {start}–{end}",
    unassigned: "Orders left out ({n})",
    deliverN: "deliver {size} kg × {n}",
    collectN: "collect empty {size} kg × {n}",
    arrival: "Arrival",
    vehicle: "Vehicle",
    close: "Close",
    attribution: "District outlines: g0v twgeojson, from the National Land Surveying and Mapping Center's open data",
    timeline: "Vehicles' timelines",
    depart: "Departs",
    reload: "Reload at the depot",
    "reason.no_compatible_vehicle": "no vehicle may go there (lanes, weight limits)",
    "reason.capacity": "more than any usable vehicle carries",
    "reason.time_window_unreachable": "its time window cannot be reached",
    "reason.shift_limits": "outside the shifts, working hours or distance limits",
    "reason.not_worth_prize": "not worth a trip",
    "reason.no_feasible_route": "no feasible route found (windows, loads or hours)",
  },
};

let current = localStorage.getItem("luckygas.lang");
if (!LANGS.includes(current)) current = "zh-TW";

export function lang() {
  return current;
}

export function setLang(next) {
  current = LANGS.includes(next) ? next : "zh-TW";
  localStorage.setItem("luckygas.lang", current);
  document.documentElement.lang = current;
}

export function t(key, values = {}) {
  const text = WORDS[current][key] ?? WORDS["zh-TW"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

// Fills every `data-i18n` element under `root` with its words.
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}
