// The parts of a browser window that scripts on redirect pages touch and that
// need nothing from Go. Run once per page, before its scripts.
(function (g) {
	function Storage() {
		var data = {};
		return {
			getItem: function (k) { return Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null; },
			setItem: function (k, v) { data[k] = String(v); },
			removeItem: function (k) { delete data[k]; },
			clear: function () { data = {}; },
			key: function (i) { return Object.keys(data)[i] || null; },
			get length() { return Object.keys(data).length; }
		};
	}
	g.localStorage = Storage();
	g.sessionStorage = Storage();
	var noop = function () {};
	g.console = { log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop, dir: noop, table: noop };
	g.alert = noop;
	g.confirm = function () { return false; };
	g.prompt = function () { return null; };
	g.close = noop;
	g.focus = noop;
	g.blur = noop;
	g.scrollTo = noop;
	g.postMessage = noop;
	g.dispatchEvent = function () { return true; };
	g.queueMicrotask = function (f) { Promise.resolve().then(f); };
	g.matchMedia = function () { return { matches: false, addListener: noop, addEventListener: noop }; };
	g.getComputedStyle = function () { return { getPropertyValue: function () { return ""; } }; };
	g.screen = { width: 1280, height: 720, availWidth: 1280, availHeight: 720, colorDepth: 24 };
	g.innerWidth = 1280;
	g.innerHeight = 720;
	g.devicePixelRatio = 1;
	g.name = "";
	g.closed = false;
	g.opener = null;
	g.length = 0;
	g.performance = { now: function () { return 0; }, timing: {} };
	g.history = {
		length: 1, state: null,
		pushState: function (s, t, u) { if (u !== undefined && u !== null) g.__historyURL(String(u)); },
		replaceState: function (s, t, u) { if (u !== undefined && u !== null) g.__historyURL(String(u)); },
		back: noop, forward: noop, go: noop
	};
	g.Image = function () { return g.document.createElement("img"); };
	g.Event = function (type) { this.type = type; };
	g.CustomEvent = g.Event;
})(this);
