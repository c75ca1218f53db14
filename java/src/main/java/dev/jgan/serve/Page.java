package dev.jgan.serve;

/**
 * The web page of {@code gan serve}: the model's card from /v1/model (preset, step, data, classes,
 * and FID and coverage where gan eval measured them), a form for n, seed and class with the grid
 * from /v1/samples.png ("New samples" moves to the next seed), and a strip of frames between two
 * seeds from /v1/interpolate.png. With {@code ?autorun} it shows both on load (the tests' way in);
 * the body's data-state says where the grid is (loading, ready, shown or error), data-strip the strip.
 */
final class Page {
    private Page() {}

    static final String HTML = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>jgan serve</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #222; }
              h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
              #model { color: #555; margin-top: 0; }
              form { display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; margin: 1.2rem 0; }
              label { display: flex; flex-direction: column; font-size: 0.85rem; gap: 0.2rem; }
              input, select, button { font-size: 1rem; padding: 0.3rem 0.5rem; }
              button { cursor: pointer; }
              #grid { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
              #error { color: #b00; }
              h2 { font-size: 1.1rem; margin-top: 2rem; }
              #strip { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
            </style>
            </head>
            <body data-state="loading">
            <h1>jgan serve</h1>
            <p id="model">loading the model&hellip;</p>
            <form id="ask">
              <label>images <input id="n" type="number" min="1" value="16"></label>
              <label>seed <input id="seed" type="number" value="0"></label>
              <label id="class-label" hidden>class <select id="class"><option value="">every class in turn</option></select></label>
              <button type="submit" id="generate">Generate</button>
              <button type="button" id="next">New samples</button>
            </form>
            <p id="error" role="alert"></p>
            <img id="grid" alt="samples">
            <h2>Between two seeds</h2>
            <form id="walk">
              <label>from seed <input id="from" type="number" value="1"></label>
              <label>to seed <input id="to" type="number" value="2"></label>
              <label>frames <input id="frames" type="number" min="2" max="64" value="8"></label>
              <button type="submit" id="go">Walk</button>
            </form>
            <img id="strip" alt="frames between two seeds">
            <script>
            const $ = id => document.getElementById(id);
            let info = null;
            function fail(message) {
              $('error').textContent = message;
              document.body.dataset.state = 'error';
            }
            async function generate() {
              $('error').textContent = '';
              const q = new URLSearchParams({n: $('n').value, seed: $('seed').value, scale: '3'});
              if ($('class').value !== '') q.set('class', $('class').value);
              const r = await fetch('/v1/samples.png?' + q);
              if (!r.ok) { fail((await r.json()).error); return; }
              const url = URL.createObjectURL(await r.blob());
              $('grid').onload = () => { document.body.dataset.state = 'shown'; document.body.dataset.width = $('grid').naturalWidth; };
              $('grid').src = url;
            }
            async function walk() {
              const q = new URLSearchParams({from: $('from').value, to: $('to').value, frames: $('frames').value, scale: '3'});
              if ($('class').value !== '') q.set('class', $('class').value);
              const r = await fetch('/v1/interpolate.png?' + q);
              if (!r.ok) { fail((await r.json()).error); return; }
              $('strip').onload = () => { document.body.dataset.strip = 'shown'; };
              $('strip').src = URL.createObjectURL(await r.blob());
            }
            async function start() {
              const r = await fetch('/v1/model');
              if (!r.ok) { fail('the server did not describe its model'); return; }
              info = await r.json();
              $('model').textContent = info.preset + ', step ' + info.step + ' (' + info.dataset + ')'
                  + (info.classes ? ', ' + info.classes + ' classes' : '') + (info.ema ? ', EMA generator' : '')
                  + (info.quality ? '; FID ' + info.quality.fid.toFixed(3) + ' (' + info.quality.n + ' images), '
                      + info.quality.classes_covered + ' of ' + info.quality.classes + ' classes covered' : '');
              $('n').max = info.maxN;
              if (info.classes) {
                $('class-label').hidden = false;
                info.classNames.forEach((name, k) => $('class').add(new Option(k + ': ' + name, k)));
              }
              document.body.dataset.state = 'ready';
              if (new URLSearchParams(location.search).has('autorun')) { await generate(); await walk(); }
            }
            $('ask').addEventListener('submit', e => { e.preventDefault(); generate(); });
            $('next').addEventListener('click', () => { $('seed').value = Number($('seed').value) + 1; generate(); });
            $('walk').addEventListener('submit', e => { e.preventDefault(); walk(); });
            $('class').addEventListener('change', () => generate());   // a class picked is a class shown
            start().catch(e => fail(String(e)));
            </script>
            </body>
            </html>
            """;
}
