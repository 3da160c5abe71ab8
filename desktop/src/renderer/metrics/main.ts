/** Entry of the metrics window (desktop-metrics.html in Electron, metrics.html in a browser). */
import '../styles/base.css';
import '../styles/metrics.css';
import { selectPlatform } from '../platform/select-platform.js';
import { MetricsWindow } from './metrics-window.js';

void new MetricsWindow(selectPlatform()).start();
