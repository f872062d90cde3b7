import { render } from "preact";
import { App } from "./app";
import { applyLang } from "./i18n";
import "./styles.css";

applyLang();
render(<App />, document.getElementById("app")!);
