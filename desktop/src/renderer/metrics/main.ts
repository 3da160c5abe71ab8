/** Entry of the metrics window (desktop-metrics.html in Electron, metrics.html in a browser). */
import '../styles/base.css';
import '../styles/metrics.css';
import { selectPlatform } from '../platform/select-platform.js';
import { addFavicon } from '../ui/favicon.js';
import { MetricsWindow } from './metrics-window.js';

const platform = selectPlatform();
if (platform.kind === 'browser') addFavicon();
void new MetricsWindow(platform).start();
