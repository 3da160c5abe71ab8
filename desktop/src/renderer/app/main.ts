/** Entry of the main window (desktop.html in Electron, index.html in a browser). */
import '../styles/base.css';
import '../styles/app.css';
import { selectPlatform } from '../platform/select-platform.js';
import { MainWindow } from './main-window.js';

const mainWindow = new MainWindow(selectPlatform());
void mainWindow.start();
