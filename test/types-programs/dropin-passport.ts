// An express-session app switched to the drop-in, typed with @types/express-session and @types/passport.
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import session from 'kvsession/express-session';
// express-session's typings type req.session; the drop-in implements that shape.
import type {} from 'express-session';

declare module 'express-session' {
  interface SessionData {
    views: number;
  }
}

passport.use(new LocalStrategy((username, _password, done) => done(null, { id: username })));
passport.serializeUser((user, done) => done(null, (user as { id: string }).id));
passport.deserializeUser((id: string, done) => done(null, { id }));

const sessions = session({
  secret: process.env['SESSION_SECRET'],
  resave: false,
  saveUninitialized: false,
  store: 'memory://',
  cookie: { maxAge: 60_000 },
});
const app = express();
app.use(sessions);
app.use(passport.session());
app.post(
  '/login',
  passport.authenticate('local', { successRedirect: '/', failureRedirect: '/login' }),
);
app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  req.session.cookie.maxAge = 3_600_000;
  res.json({
    id: req.sessionID,
    views: req.session.views,
    user: req.user ?? null,
    authenticated: req.isAuthenticated(),
  });
});
app.post('/logout', (req, res, next) => {
  req.logout((err) =>
    err ? next(err) : req.session.regenerate((e) => (e ? next(e) : res.redirect('/'))),
  );
});
void sessions.listUserSessions('u1');
