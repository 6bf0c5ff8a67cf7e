## Líneas de estado para la operadora (una por estado de la solicitud).

status-queued = En espera de intérprete de { $language }: lugar { $position } en la fila. { $oncall ->
    [0] No hay intérpretes de { $language } de guardia ahora.
    [one] Hay 1 intérprete de { $language } de guardia.
   *[other] Hay { $oncall } intérpretes de { $language } de guardia.
}
status-offered = Se ofreció la llamada a { $count ->
    [one] 1 intérprete
   *[other] { $count } intérpretes
} de { $language }; esperando respuesta.
status-connected = { $interpreter } (intérprete de { $language }) aceptó y está en { $channel ->
    [chat] la conversación
   *[phone] la llamada
}.
status-completed = { $channel ->
    [chat] Conversación
   *[phone] Llamada
} con intérprete de { $language } terminada.
status-cancelled = Solicitud de intérprete de { $language } cancelada.
status-bridge-lost = Se perdió la llamada: la instancia de puente que la sostenía dejó de funcionar. La persona intérprete quedó libre. Si es seguro, llame de regreso a la persona que llamó.
status-unfilled = Nadie pudo atender en { $language }. Ofrezca una llamada de regreso o canalice a una institución externa.

## Guion para leer a la persona que llama mientras espera.

script-waiting = Estamos buscando a una persona que hable { $language }. No cuelgue, por favor: su llamada es importante.

## Lo que ve o escucha la intérprete cuando se le ofrece una llamada.

offer-text = Llamada en { $language }{ $priority ->
    [urgent] , urgente
   *[normal] {""}
}. ¿Aceptas?

## Lo que la intérprete escucha al contestar una llamada de puente (la central telefónica
## reproduce una grabación de este texto: el sonido «puente-offer», ver docs/bridges.md).

phone-offer-prompt = Hola, le llama puente. Una persona necesita intérprete ahora. Marque 1 para aceptar la llamada, o 2 para rechazarla.

## Lo que puente escribe a quien escribe por WhatsApp, y cómo firma los mensajes que reenvía.

chat-received = Recibimos su mensaje. Una operadora le responderá aquí.
chat-waiting = Recibimos su mensaje. Estamos buscando a una persona que hable { $language } para atenderle. Puede seguir escribiendo aquí.
chat-interpreter-joined = Una intérprete de { $language } se unió a la conversación.
chat-unfilled = En este momento no encontramos intérprete de { $language }. Una operadora le escribirá aquí.
chat-from-interpreter = Intérprete
chat-from-operator = Operadora

## Mensajes de error de la API.

error-invalid-signature = La firma X-Hub-Signature-256 falta o no corresponde al cuerpo; no se aceptó nada.
error-unauthorized = Falta el token o no es válido. Envíe el encabezado «Authorization: Bearer <token>».
error-forbidden = Su token no permite esta acción.
error-not-found = No existe { $what }.
error-route-not-found = No existe esa ruta. Consulte la lista de rutas en API.md.
error-method-not-allowed = Esa ruta no admite ese método HTTP.
error-malformed-json = El cuerpo no es JSON válido: { $detail }
error-invalid-body = El cuerpo JSON no tiene la forma esperada: { $detail }
error-unsupported-media-type = Envíe el cuerpo como JSON con «Content-Type: application/json».
error-payload-too-large = El cuerpo es demasiado grande; el máximo es { $limit } bytes.
error-invalid-field = El campo «{ $field }» no es válido: { $detail }
error-invalid-query = El parámetro de consulta no es válido: { $detail }
error-invalid-limit = «limit» es un número entero de 1 a { $max }, no «{ $given }».
error-invalid-cursor = «cursor» no es uno que haya dado este servidor: use el «next» de una página.
error-invalid-time = «{ $name }» es una fecha y hora RFC 3339, como 2026-12-03T09:30:00-06:00, no «{ $given }».
error-unknown-language = No reconocemos la lengua «{ $query }». Pruebe con un nombre como «tsotsil», un código como «tzo», o busque en GET /api/v1/languages?q=
error-ambiguous-language = «{ $query }» puede ser varias lenguas: { $candidates }. Elija una y envíe su etiqueta.
error-already-exists = Ya existe { $what }; use otro identificador.
error-offer-closed = Esta oferta ya no está abierta (estado: { $outcome }).
error-not-a-chat = La solicitud { $request } es una llamada, no una conversación por chat: no lleva mensajes.
error-invalid-state = La solicitud está en estado «{ $state }» y no admite esta acción.
error-uncertain-text = No se puede saber con certeza la lengua del texto; podría ser: { $candidates }. Confírmelo con la persona y envíe «language».
error-no-letters = El texto no tiene letras: pegue el mensaje de la persona que llama.
error-no-interpreter-needed = El texto parece estar en «{ $tag }»: no hace falta intérprete. Si la persona habla otra lengua, indíquela en «language».
error-interpreter-in-session = La intérprete está conectada a la solicitud { $request }; termine esa llamada primero.
error-internal = Error interno. Inténtelo de nuevo; si se repite, avise a soporte con el identificador { $request_id }.
error-store-unavailable = El sistema no puede guardar ni leer datos en este momento (el almacén no responde). No se registró nada: vuelva a intentarlo en unos segundos; si continúa, avise a soporte y atienda la llamada por teléfono mientras tanto.
error-stale-profile = Otra persona cambió este perfil mientras usted lo editaba. Vuelva a cargarlo, revise los cambios y guarde de nuevo.
error-too-many-streams = Este token ya tiene { $limit } conexiones en vivo abiertas. Cierre pestañas que no use y vuelva a intentarlo.
error-too-many-attempts = Demasiados intentos con un token no válido desde esta dirección. Espere un minuto y revise el token.
error-bad-request = La solicitud no se puede leer (la ruta o un encabezado no son válidos, por ejemplo bytes que no son UTF-8). Revise la dirección y vuelva a intentarlo.
error-request-timeout = La solicitud tardó demasiado y se canceló. Vuelva a intentarlo.
