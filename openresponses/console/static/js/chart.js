// A small line chart on <canvas>: several series over the same time axis, y from zero to a
// rounded maximum. The legend and the latest values are DOM text beside it (readable by
// screen readers); the canvas itself is described by its aria-label.

const COLORS = ["#2f6fdb", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8a317", "#0c8599", "#c2255c"];

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  // Maxima whose quarters (the grid lines) are round numbers too.
  for (const step of [1, 2, 4, 6, 8, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function format(value) {
  if (value >= 100 || Number.isInteger(value)) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return String(Number(value.toPrecision(3)));
}

export class LineChart {
  /** `canvas`: the element to draw on; `unit`: shown on the y axis. */
  constructor(canvas, unit) {
    this.canvas = canvas;
    this.unit = unit;
  }

  /** Draw `series` ({name: [values…]}, aligned to the right edge) over `capacity` slots. */
  draw(series, capacity) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 400;
    const height = canvas.clientHeight || 160;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const pad = { left: 44, right: 8, top: 8, bottom: 18 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const values = Object.values(series).flat().filter(Number.isFinite);
    const top = niceMax(Math.max(0, ...values));
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#667085";
    ctx.strokeStyle = "#e4e7ec";
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i += 1) {
      const y = pad.top + plotH - (plotH * i) / 4;
      ctx.beginPath(); ctx.moveTo(pad.left, y); ctx.lineTo(width - pad.right, y); ctx.stroke();
      ctx.fillText(format((top * i) / 4), 4, y + 4);
    }
    ctx.fillText(this.unit, pad.left, height - 4);
    ctx.textAlign = "right";
    ctx.fillText("now", width - pad.right, height - 4);
    ctx.textAlign = "left";
    const step = plotW / Math.max(capacity - 1, 1);
    Object.values(series).forEach((points, index) => {
      ctx.strokeStyle = COLORS[index % COLORS.length];
      ctx.lineWidth = 2;
      ctx.beginPath();
      let started = false;
      points.forEach((value, i) => {
        if (!Number.isFinite(value)) { started = false; return; }
        const x = pad.left + step * (capacity - points.length + i);
        const y = pad.top + plotH - (plotH * value) / top;
        if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        started = true;
      });
      ctx.stroke();
    });
  }
}

export function colorOf(index) {
  return COLORS[index % COLORS.length];
}

export { format };
