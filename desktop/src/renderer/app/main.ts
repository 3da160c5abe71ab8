/** Entry of the main window (desktop.html in Electron, index.html in a browser). */
import '../styles/base.css';
import '../styles/app.css';
import { selectPlatform } from '../platform/select-platform.js';
import { addFavicon } from '../ui/favicon.js';
import { MainWindow } from './main-window.js';

const platform = selectPlatform();
if (platform.kind === 'browser') addFavicon();
const mainWindow = new MainWindow(platform);
void mainWindow.start();
