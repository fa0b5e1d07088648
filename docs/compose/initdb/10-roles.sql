-- Run once by the postgres image on an empty volume: the application role
-- that migrations grant rights to. The owner is POSTGRES_USER.
CREATE ROLE messina_app LOGIN PASSWORD 'app-secret';
