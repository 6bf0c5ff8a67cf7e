-- ARGV: alert json. Changes nothing; publishes the alert to every instance.
table.insert(out, 'x')
table.insert(out, ARGV[1])
return done()
