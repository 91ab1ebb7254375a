// The query page's editor: CodeMirror 6 with the SPARQL language, bundled by hatch_build.py into
// ../vendor/editor.js (an IIFE that sets window.ImrEditor).  query.js is the page; this is only
// the editor it drives.
import {defaultKeymap, history, historyKeymap, indentWithTab} from '@codemirror/commands';
import {bracketMatching, defaultHighlightStyle, syntaxHighlighting} from '@codemirror/language';
import {lintGutter, setDiagnostics} from '@codemirror/lint';
import {EditorState} from '@codemirror/state';
import {EditorView, highlightActiveLine, keymap, lineNumbers} from '@codemirror/view';
import {sparql} from 'codemirror-lang-sparql';

// Colours kept at WCAG AA contrast (4.5:1) on the editor's white and grey.
const theme = EditorView.theme({
  '&': {border: '1px solid #767676', fontSize: '14px', backgroundColor: '#fff'},
  '.cm-content': {fontFamily: 'ui-monospace, monospace', minHeight: '12em'},
  '.cm-gutters': {backgroundColor: '#f3f3f3', color: '#4a4a4a', borderRight: '1px solid #ccc'},
  '.cm-activeLine': {backgroundColor: 'transparent'},
  '&.cm-focused': {outline: '2px solid #1a5fb4'},
});

// Typing over a selection that spans lines is left to the browser by CodeMirror, and Chromium then
// writes the merged lines' computed style into a style attribute, which the page's policy refuses
// (a console error, nothing else).  Replacing the selection here keeps the DOM CodeMirror's own.
const typeOverSelection = EditorView.domEventHandlers({
  beforeinput(event, view) {
    if (event.inputType !== 'insertText' || !event.data || event.isComposing || view.state.selection.main.empty) return false;
    event.preventDefault();
    view.dispatch(view.state.update(view.state.replaceSelection(event.data), {userEvent: 'input.type', scrollIntoView: true}));
    return true;
  },
});

/** Make an editor in place of ``textarea`` (kept, hidden, in step with the editor, so the form
 * still posts it); ``onRun`` is called on Ctrl+Enter (Cmd+Enter on a Mac); ``nonce`` is the page's
 * Content-Security-Policy nonce, which the editor's style elements carry. */
export function create(textarea, {onRun, label, nonce}) {
  const sync = EditorView.updateListener.of((u) => {
    if (u.docChanged) textarea.value = u.state.doc.toString();
  });
  const view = new EditorView({
    parent: textarea.parentNode,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(), history(), bracketMatching(), highlightActiveLine(), lintGutter(),
        syntaxHighlighting(defaultHighlightStyle), sparql(), theme, sync, typeOverSelection,
        EditorView.cspNonce.of(nonce || ''),
        EditorView.contentAttributes.of({'aria-label': label, 'id': textarea.id + '-editor'}),
        keymap.of([{key: 'Mod-Enter', run: () => { onRun(); return true; }}, indentWithTab,
                   ...defaultKeymap, ...historyKeymap]),
      ],
    }),
  });
  textarea.parentNode.insertBefore(view.dom, textarea);
  textarea.hidden = true;
  return {
    view,
    get: () => view.state.doc.toString(),
    set(text) {
      view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}});
      view.dispatch(setDiagnostics(view.state, []));
    },
    /** Mark an error at 1-based ``line`` and ``column`` (a column past the line's end marks its end). */
    markError(line, column, message) {
      const doc = view.state.doc;
      const l = doc.line(Math.max(1, Math.min(line, doc.lines)));
      // past the line's end (the parser's column can point after the last character): its last character
      let from = Math.min(l.from + Math.max(0, column - 1), l.to);
      if (from === l.to && from > l.from) from -= 1;
      const to = Math.min(from + 1, l.to);
      view.dispatch(setDiagnostics(view.state, [{from, to, severity: 'error', message}]));
      view.dispatch({selection: {anchor: from}, scrollIntoView: true});
    },
    clearErrors() { view.dispatch(setDiagnostics(view.state, [])); },
    focus() { view.focus(); },
  };
}
